"""A request id for every request: taken from X-Request-ID when a trusted proxy sets it,
otherwise made here; returned in the response and carried by every log line of the request."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.conf import settings

from integrations.keys import redact_keys

if TYPE_CHECKING:  # settings import this module, before django.http may be imported
    from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
# Proxies send UUIDs, hex strings or trace ids such as AWS's "Root=1-5f1b...".
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:;=+/-]{0,127}")
# WSGI environ keys: gunicorn's access log reads them (activtrak_scim/observability/logs.py).
ENVIRON_REQUEST_ID = "activtrak.request_id"
ENVIRON_ACCOUNT = "activtrak.account"
ENVIRON_INSTANCE = "activtrak.instance"

current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def incoming_request_id(request: HttpRequest) -> str | None:
    """The proxy's request id, if requests come through a trusted proxy and the id is sane."""
    if settings.TRUSTED_PROXY_COUNT < 1:
        return None
    value = request.META.get("HTTP_X_REQUEST_ID", "")
    if not VALID_REQUEST_ID.fullmatch(value) or redact_keys(value) != value:
        return None
    return value


def scim_owner(request: HttpRequest) -> tuple[str, int] | None:
    """(account slug, instance id) of the key a SCIM request authenticated with, if any.

    The SCIM edge sets ``request.scim_principal``; its account and instance are already loaded
    with the key, so reading them costs no query."""
    principal = getattr(request, "scim_principal", None)
    if principal is None:
        return None
    return principal.account.slug, principal.instance.pk


class RequestIdMiddleware:
    """Outermost middleware: gives the request its id for the logs and the response header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = incoming_request_id(request) or uuid.uuid4().hex
        request.request_id = request_id
        request.META[ENVIRON_REQUEST_ID] = request_id
        token = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response[HEADER] = request_id
        owner = scim_owner(request)
        if owner is not None:
            request.META[ENVIRON_ACCOUNT], request.META[ENVIRON_INSTANCE] = owner
        return response
