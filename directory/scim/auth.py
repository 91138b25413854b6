"""The SCIM bearer-key check: the one place a SCIM request gets its account.

Nothing in the URL names an account; the key does. Every SCIM read and write downstream is
scoped to ``request.scim_account`` set here.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.models import ApiKey
from integrations.services import api_key_authenticate

FAILURE_DETAILS = {
    "missing": (
        "The Authorization header is missing. Send 'Authorization: Bearer <API key>' with the key "
        "from APIs & Integrations > Integrations."
    ),
    "scheme": (
        "The Authorization header must use the Bearer scheme: 'Authorization: Bearer <API key>'."
    ),
    "doubled": (
        "The Authorization header says 'Bearer' twice. Okta adds 'Bearer' itself: paste only the "
        "API key into the token field."
    ),
    "malformed": (
        "The API key is malformed: ActivTrak SCIM keys start with 'atk_scim_'. Copy the whole key "
        "again, or regenerate it."
    ),
    "unknown": "The API key is not recognised. Check that the whole key was pasted, or regenerate it.",
    "revoked": (
        "The API key was revoked (regenerated or deleted). Paste the current key into Okta, or "
        "regenerate it on the Integrations page."
    ),
}


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
    def instance(self):
        return self.api_key.instance

    @property
    def account(self):
        return self.api_key.instance.account


def presented_key(header: str | None) -> str:
    """Extract the key from an Authorization header, or raise AuthenticationFailed."""
    if header is None or not header.strip():
        raise AuthenticationFailed("missing")
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthenticationFailed("scheme")
    token = rest.strip()
    if not token:
        raise AuthenticationFailed("missing")
    first, _, remainder = token.partition(" ")
    if first.lower() == "bearer":
        raise AuthenticationFailed("doubled")
    if remainder:
        raise AuthenticationFailed("malformed")
    return token


def authenticate(header: str | None) -> ScimPrincipal:
    """Resolve the Authorization header to a usable key (one query) and note its use."""
    check = api_key_authenticate(presented_key(header))
    if check.failure:
        raise AuthenticationFailed(check.failure, check.api_key)
    check.api_key.record_usage()
    return ScimPrincipal(check.api_key)
