"""The SCIM bearer-key check: the one place a SCIM request gets its account.

Nothing in the URL names an account; the key does. Every SCIM read and write downstream is
scoped to ``request.scim_account`` set here. The check itself is the key service shared with
the agent API (``integrations.services.key_authenticate``); this adapts it to the SCIM edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.models import ApiKey, IntegrationInstance
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

    @property
    def instance(self) -> IntegrationInstance:
        return self.api_key.instance

    @property
    def account(self):
        return self.api_key.instance.account


def authenticate(header: str | None) -> ScimPrincipal:
    """Resolve the Authorization header to a usable key (one query) and note its use."""
    try:
        return ScimPrincipal(key_authenticate(header, model=ApiKey))
    except KeyRefused as refused:
        raise AuthenticationFailed(refused.reason, refused.key) from None
