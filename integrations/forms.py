"""Forms of the Integrations pages and the sign-in pages."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError

from directory.errors import DirectoryError
from integrations.models import ProvisioningEvent
from integrations.pending_keys import pending_key_is_valid
from integrations.services import (
    DEFAULT_ROTATION_OVERLAP_HOURS,
    INSTANCE_NAME_MAX_LENGTH,
    clean_instance_name,
)
from integrations.sign_in import sign_in_wait

KEY_EXPIRED = (
    "That key expired before it was saved, so it will never work. Here is a new one: copy it again."
)


def _instance_name(value: str) -> str:
    try:
        return clean_instance_name(value)
    except DirectoryError as exc:
        raise ValidationError(exc.detail, code="invalid") from None


def _instance_name_field() -> forms.CharField:
    return forms.CharField(
        label="API Key Name",
        max_length=INSTANCE_NAME_MAX_LENGTH,
        error_messages={
            "required": "Enter a name for the API key.",
            "max_length": f"The name can be at most {INSTANCE_NAME_MAX_LENGTH} characters.",
        },
    )


class InstanceCreateForm(forms.Form):
    """The Add Instance drawer: a name, the key it was shown, and "I have copied the key"."""

    name = _instance_name_field()
    key = forms.CharField(strip=True)
    acknowledged = forms.BooleanField(
        label="I have copied the API key and stored it somewhere safe",
        error_messages={"required": "Confirm that you copied the key: it is not shown again."},
    )

    def __init__(self, *args: Any, session: SessionBase, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session = session
        self.kind = kind

    def clean_name(self) -> str:
        return _instance_name(self.cleaned_data["name"])

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if not pending_key_is_valid(session=self.session, kind=self.kind, key=key):
            raise ValidationError(KEY_EXPIRED, code="expired")
        return key


class InstanceRenameForm(forms.Form):
    name = _instance_name_field()

    def clean_name(self) -> str:
        return _instance_name(self.cleaned_data["name"])


class KeyRotateForm(forms.Form):
    """Rotate key: how long the current key keeps working beside the new one."""

    OVERLAP_CHOICES = [
        ("0", "No overlap"),
        ("1", "1 hour"),
        ("24", "24 hours"),
        ("168", "7 days"),
    ]

    overlap_hours = forms.TypedChoiceField(
        label="How long may the current key keep working?",
        choices=OVERLAP_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        initial=str(DEFAULT_ROTATION_OVERLAP_HOURS),
        error_messages={"invalid_choice": "Choose no overlap, 1 hour, 24 hours or 7 days."},
    )


class ConfirmForm(forms.Form):
    """Regenerate and Delete post ``confirm=yes`` from their confirmation dialog or page."""

    confirm = forms.BooleanField()


class ActivityFilterForm(forms.Form):
    outcome = forms.ChoiceField(
        required=False,
        choices=[("", "All"), *ProvisioningEvent.OUTCOME_CHOICES],
    )


class ThrottledSignInMixin:
    """Say "wait" instead of "wrong password" when the sign-in throttle refused the attempt."""

    throttled_message = "Too many failed sign-ins. Wait %(minutes)s and try again."

    def get_invalid_login_error(self) -> ValidationError:
        wait = sign_in_wait(self.request)
        if not wait:
            return super().get_invalid_login_error()
        minutes = max(1, math.ceil(wait / 60))
        return ValidationError(
            self.throttled_message,
            code="throttled",
            params={"minutes": f"{minutes} minute" + ("" if minutes == 1 else "s")},
        )


class EmailSignInForm(ThrottledSignInMixin, AuthenticationForm):
    """Email + password; the sign-in throttle runs in the authentication backend."""

    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "The email or password is not right. Check both and try again.",
    }

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class AdminSignInForm(ThrottledSignInMixin, AdminAuthenticationForm):
    """Django admin's sign-in, with the throttle's message."""
