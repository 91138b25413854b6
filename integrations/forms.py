"""Forms of the Integrations pages and the admin sign-in."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from directory.errors import DirectoryError
from integrations.models import ProvisioningEvent, SignInThrottle
from integrations.pending_keys import pending_key_is_valid
from integrations.services import (
    DEFAULT_ROTATION_OVERLAP_HOURS,
    INSTANCE_NAME_MAX_LENGTH,
    clean_instance_name,
)

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


def client_address(request: HttpRequest) -> str:
    """The client's IP address. Behind the TLS proxy the last X-Forwarded-For hop is the one our
    proxy added (earlier hops are whatever the client sent); otherwise REMOTE_ADDR."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and forwarded.strip():
        return forwarded.split(",")[-1].strip()[:64]
    return (request.META.get("REMOTE_ADDR") or "unknown")[:64]


def _email_scope(email: str) -> str:
    # Hashed: people type passwords into the email field, and those must not sit in a table.
    digest = hmac.new(settings.SECRET_KEY.encode(), email.encode(), hashlib.sha256).hexdigest()
    return digest[:40]


def sign_in_limits(email: str, address: str) -> dict[str, int]:
    """Failure limits per scope: this email from this address (the usual guesser), this email
    from anywhere (a spread-out attack), and this address for any email (spraying)."""
    email_scope = _email_scope(email)
    return {
        f"pair:{email_scope}:{address}": settings.SIGN_IN_FAILURE_LIMIT,
        f"email:{email_scope}": settings.SIGN_IN_FAILURE_LIMIT_PER_EMAIL,
        f"address:{address}": settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS,
    }


class EmailSignInForm(AuthenticationForm):
    """Email + password, with failed attempts rate-limited through the database."""

    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "The email or password is not right. Check both and try again.",
        "throttled": "Too many failed sign-ins. Wait %(minutes)s and try again.",
    }

    is_throttled = False

    def clean(self) -> dict[str, Any]:
        email = (self.cleaned_data.get("username") or "").strip().lower()
        password = self.cleaned_data.get("password")
        if not email or not password:
            return self.cleaned_data
        limits = sign_in_limits(email, client_address(self.request))
        wait = SignInThrottle.seconds_blocked(limits)
        if wait:
            self.is_throttled = True
            minutes = max(1, round(wait / 60))
            raise ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": f"{minutes} minute" + ("" if minutes == 1 else "s")},
            )
        self.user_cache = authenticate(self.request, username=email, password=password)
        if self.user_cache is None:
            SignInThrottle.record_failure(limits)
            raise self.get_invalid_login_error()
        self.confirm_login_allowed(self.user_cache)
        SignInThrottle.clear(next(iter(limits)))
        return self.cleaned_data
