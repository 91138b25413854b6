"""Optional error tracking: with SENTRY_DSN set, unhandled errors and logged exceptions go to
Sentry, scrubbed of keys, Authorization headers, cookies and request bodies."""

from __future__ import annotations

from typing import Any

from integrations.keys import redact_keys

SENSITIVE_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}


def redact(value: Any) -> Any:
    """Mask anything shaped like a key in every string of an event, however deep."""
    if isinstance(value, str):
        return redact_keys(value)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry's before_send: drop what may hold a secret, then mask keys anywhere else (an
    exception message or a query string that echoes a pasted key)."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: value
                for name, value in headers.items()
                if name.lower() not in SENSITIVE_HEADERS
            }
    return redact(event)


def error_tracking_start(dsn: str) -> None:
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        send_default_pii=False,
        # Local variables of a failed SCIM request hold the Authorization header and the body.
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_send_transaction=scrub_event,
    )
