"""The Integrations pages (APIs & Integrations > Integrations) and the admin sign-in.

Every drawer is also an ordinary page, so the whole flow works without JavaScript. drawer.js
fetches the same URLs with ``X-Drawer: 1`` and gets only the panel to show in a <dialog>; where
a page would redirect after a change, a drawer request gets ``204`` with ``X-Drawer-Close`` (the
id of the button to focus once the drawer closes).

Every view reads through ``request.account`` (the signed-in admin's account), so another
account's instance ids are 404s.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from directory.access import account_admin_required
from directory.errors import DirectoryError
from directory.scim import base_url
from integrations.forms import (
    ActivityFilterForm,
    ConfirmForm,
    EmailSignInForm,
    InstanceCreateForm,
    InstanceRenameForm,
    KeyRotateForm,
)
from integrations.models import IntegrationInstance
from integrations.pending_keys import pending_key_discard, pending_key_issue
from integrations.providers import Provider, provider_get
from integrations.selectors import (
    events_for_instance,
    instance_activity,
    instances_for_account,
    integration_cards,
    key_rotation_for_instance,
    masked_key,
    retirement_is_due,
)
from integrations.services import (
    api_key_regenerate,
    api_key_retirements_record,
    api_key_rotate,
    instance_create,
    instance_delete,
    instance_rename,
)

DRAWER_HEADER = "X-Drawer"
ACTIVITY_PAGE_SIZE = 50


def _is_drawer(request: HttpRequest) -> bool:
    return request.headers.get(DRAWER_HEADER) == "1"


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """A drawer template as a whole page, or as the bare panel for drawer.js."""
    drawer = _is_drawer(request)
    context = {
        "is_drawer": drawer,
        "drawer_base": "components/fragment.html" if drawer else "base.html",
        **context,
    }
    response = render(request, template, context, status=status)
    patch_vary_headers(response, [DRAWER_HEADER])
    return response


def _finish(request: HttpRequest, *, redirect_to: str, focus: str) -> HttpResponse:
    """After a change: a page redirects; a drawer closes and moves focus to ``focus``."""
    if _is_drawer(request):
        response = HttpResponse(status=204)
        response["X-Drawer-Close"] = focus
        return response
    return redirect(redirect_to)


def _provider(kind: str) -> Provider:
    provider = provider_get(kind)
    if provider is None:
        raise Http404("No such integration.")
    return provider


def _instance(request: HttpRequest, pk: int) -> IntegrationInstance:
    return get_object_or_404(instances_for_account(account=request.account), pk=pk)


@account_admin_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("integrations:index")


@account_admin_required
def index(request: HttpRequest) -> HttpResponse:
    cards = integration_cards(account=request.account)
    return render(request, "integrations/index.html", {"cards": cards})


@sensitive_variables("key")
@sensitive_post_parameters("key")
@require_http_methods(["GET", "POST"])
@account_admin_required
def instance_new(request: HttpRequest, kind: str) -> HttpResponse:
    """The Add Instance drawer. The key is made when it opens and saved (hashed) on Save."""
    provider = _provider(kind)
    session = request.session
    if request.method == "POST":
        form = InstanceCreateForm(request.POST, session=session, kind=kind)
        key = request.POST.get("key", "")
        if form.is_valid():
            try:
                instance, _ = instance_create(
                    account=request.account,
                    name=form.cleaned_data["name"],
                    kind=kind,
                    created_by=request.user,
                    key=form.cleaned_data["key"],
                )
            except DirectoryError as exc:
                form.add_error("name" if exc.kind else None, exc.detail)
            except IntegrityError:
                # The same key posted twice at once (a double submit): the first one won.
                form.add_error(None, "This key was saved already.")
            else:
                pending_key_discard(session=session, key=key)
                messages.success(
                    request,
                    f"“{instance.name}” is saved and its API key works now. Paste the key into "
                    f"{provider.vendor} if you have not yet.",
                )
                return _finish(
                    request, redirect_to=reverse("integrations:index"), focus=f"view-{kind}"
                )
        if form.has_error("key"):
            key = pending_key_issue(session=session, kind=kind)
    else:
        form = InstanceCreateForm(session=session, kind=kind)
        key = pending_key_issue(session=session, kind=kind)
    context = {"provider": provider, "form": form, "key": key, "base_url": base_url(request)}
    return _render(request, "integrations/instance_new.html", context)


@account_admin_required
def instance_list(request: HttpRequest, kind: str) -> HttpResponse:
    """The instances of one provider, for a card that has several."""
    provider = _provider(kind)
    instances = list(instances_for_account(account=request.account).filter(kind=kind))
    return _render(
        request, "integrations/instance_list.html", {"provider": provider, "instances": instances}
    )


@require_http_methods(["GET", "POST"])
@account_admin_required
def instance_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The View Instance drawer; POST renames."""
    instance = _instance(request, pk)
    if retirement_is_due(instance):
        api_key_retirements_record(instance=instance)
    form = InstanceRenameForm(initial={"name": instance.name})
    notice = ""
    if request.method == "POST":
        form = InstanceRenameForm(request.POST)
        if form.is_valid():
            try:
                instance_rename(instance=instance, name=form.cleaned_data["name"])
            except DirectoryError as exc:
                form.add_error("name", exc.detail)
            else:
                if not _is_drawer(request):
                    messages.success(request, "Name saved.")
                    return redirect("integrations:instance-detail", pk=instance.pk)
                notice = "Name saved."
                form = InstanceRenameForm(initial={"name": instance.name})
    response = _render(
        request, "integrations/instance_detail.html", _detail_context(request, instance, form, notice)
    )
    if notice:
        response["X-Drawer-Refresh"] = "1"
    return response


def _detail_context(
    request: HttpRequest, instance: IntegrationInstance, form: InstanceRenameForm, notice: str
) -> dict[str, Any]:
    return {
        "provider": _provider(instance.kind),
        "instance": instance,
        "masked_key": masked_key(instance),
        "rotation": key_rotation_for_instance(instance=instance),
        "form": form,
        "notice": notice,
        "activity": instance_activity(instance=instance),
        "base_url": base_url(request),
    }


@sensitive_variables("key")
@require_http_methods(["GET", "POST"])
@account_admin_required
def instance_regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (the page without JavaScript); POST replaces the key at once."""
    instance = _instance(request, pk)
    provider = _provider(instance.kind)
    if request.method == "POST" and ConfirmForm(request.POST).is_valid():
        key = api_key_regenerate(instance=instance, created_by=request.user)
        response = _render(
            request,
            "integrations/key_regenerated.html",
            {"provider": provider, "instance": instance, "key": key, "base_url": base_url(request)},
        )
        response["X-Drawer-Refresh"] = "1"
        return response
    return _render(
        request,
        "integrations/instance_confirm.html",
        {"provider": provider, "instance": instance, "action": "regenerate"},
    )


@sensitive_variables("key")
@require_http_methods(["GET", "POST"])
@account_admin_required
def instance_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks how long the current key may overlap; POST issues the new key and shows it once.
    The current key keeps working until the new key's first request or the overlap's end."""
    instance = _instance(request, pk)
    provider = _provider(instance.kind)
    form = KeyRotateForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        overlap = timedelta(hours=form.cleaned_data["overlap_hours"])
        try:
            _, key = api_key_rotate(instance=instance, overlap=overlap, created_by=request.user)
        except DirectoryError as exc:
            form.add_error(None, exc.detail)
        else:
            context = {
                "provider": provider,
                "instance": instance,
                "key": key,
                # Read again: the row fetched above predates the rotation.
                "rotation": key_rotation_for_instance(instance=_instance(request, pk)),
                "base_url": base_url(request),
            }
            response = _render(request, "integrations/key_rotated.html", context)
            response["X-Drawer-Refresh"] = "1"
            return response
    return _render(
        request,
        "integrations/key_rotate.html",
        {"provider": provider, "instance": instance, "form": form},
    )


@require_http_methods(["GET", "POST"])
@account_admin_required
def instance_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes: the key stops working, users and groups stay."""
    instance = _instance(request, pk)
    provider = _provider(instance.kind)
    if request.method == "POST" and ConfirmForm(request.POST).is_valid():
        instance_delete(instance=instance, deleted_by=request.user)
        messages.success(
            request,
            f"“{instance.name}” is deleted and its API key no longer works. Users and groups it "
            "provisioned stay in ActivTrak.",
        )
        remaining = instances_for_account(account=request.account).filter(kind=instance.kind)
        focus = f"view-{instance.kind}" if remaining.exists() else f"add-{instance.kind}"
        return _finish(request, redirect_to=reverse("integrations:index"), focus=focus)
    return _render(
        request,
        "integrations/instance_confirm.html",
        {"provider": provider, "instance": instance, "action": "delete"},
    )


@account_admin_required
def instance_activity_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Every provisioning event of the instance, newest first, optionally failures only."""
    instance = _instance(request, pk)
    if retirement_is_due(instance):
        api_key_retirements_record(instance=instance)
    filters = ActivityFilterForm(request.GET)
    outcome = filters.cleaned_data["outcome"] if filters.is_valid() else ""
    page = Paginator(events_for_instance(instance=instance, outcome=outcome), ACTIVITY_PAGE_SIZE)
    return render(
        request,
        "integrations/instance_activity.html",
        {
            "provider": _provider(instance.kind),
            "instance": instance,
            "outcome": outcome,
            "page": page.get_page(request.GET.get("page")),
        },
    )


class SignInView(LoginView):
    """Email + password, at /accounts/login/ and at Okta SWA's login page address; throttled
    (429 once over a limit) by the authentication backend, integrations/sign_in.py."""

    form_class = EmailSignInForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True
