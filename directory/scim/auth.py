"""The SCIM bearer-key check: the one place a SCIM request gets its account.

Nothing in the URL names an account; the key does. Every SCIM read and write downstream is
scoped to ``request.scim_account`` set here. The check itself is the key service shared with
the agent API (``integrations.services.key_authenticate``); this adapts it to the SCIM edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.models import ApiKey, IntegrationInstance
from integrations.ratelimit import api_key_counted_wait, api_key_request_wait, api_key_window
from integrations.services import KEY_REFUSALS, KeyRefused, key_authenticate

FAILURE_DETAILS = KEY_REFUSALS[ApiKey]


class AuthenticationFailed(Exception):
    def __init__(self, reason: str, api_key: ApiKey | None = None) -> None:
        super().__init__(FAILURE_DETAILS[reason])
        self.reason = reason
        self.detail = FAILURE_DETAILS[reason]
        self.api_key = api_key


@dataclass(frozen=True)
class ScimPrincipal:
    api_key: ApiKey
    # Seconds the client must wait when its key is over SCIM_RATE_LIMIT_REQUESTS, else None.
    rate_limit_wait: int | None = None

    @property
    def instance(self) -> IntegrationInstance:
        return self.api_key.instance

    @property
    def account(self):
        return self.api_key.instance.account


def authenticate(header: str | None) -> ScimPrincipal:
    """Resolve the Authorization header to a usable key, note its use and count the request
    against the key's rate limit: on PostgreSQL one statement does the key and the count."""
    window = api_key_window()
    try:
        check = key_authenticate(header, model=ApiKey, count_in_window=window)
    except KeyRefused as refused:
        raise AuthenticationFailed(refused.reason, refused.key) from None
    if check.hits is not None:
        wait = api_key_counted_wait(check.hits, window)
    else:
        wait = api_key_request_wait(check.api_key)
    return ScimPrincipal(check.api_key, wait)
