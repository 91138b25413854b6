"""API keys: generation, parsing, hashing and constant-time comparison.

A SCIM key looks like ``atk_scim_<36 base62 characters><6 base62 checksum characters>``; agent
deployment keys are the same with ``atk_agent_``. The prefix
lets secret scanners recognise a leaked key, the checksum lets us call a mistyped key malformed
without a database lookup, and base62 means a double-click selects the whole key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import zlib
from dataclasses import dataclass

from django.conf import settings

KEY_PREFIX = "atk_scim_"
AGENT_KEY_PREFIX = "atk_agent_"
ALPHABET = string.digits + string.ascii_letters
BODY_LENGTH = 36
CHECKSUM_LENGTH = 6
LOOKUP_LENGTH = 8


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


@dataclass(frozen=True)
class ParsedKey:
    key: str
    lookup: str


class BearerRefused(Exception):
    """The Authorization header does not carry one bearer key; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def bearer_token(header: str | None) -> str:
    """The key from ``Authorization: Bearer <key>`` (the scheme in any case), or BearerRefused
    with reason "missing", "scheme", "doubled" (Okta adds "Bearer" itself, so an admin who pastes
    it too sends it twice) or "malformed" (more than one word)."""
    if header is None or not header.strip():
        raise BearerRefused("missing")
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise BearerRefused("scheme")
    token = rest.strip()
    if not token:
        raise BearerRefused("missing")
    first, _, remainder = token.partition(" ")
    if first.lower() == "bearer":
        raise BearerRefused("doubled")
    if remainder:
        raise BearerRefused("malformed")
    return token


def generate_key(prefix: str = KEY_PREFIX) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return prefix + body + _checksum(body)


def parse_key(key: str, prefix: str = KEY_PREFIX) -> ParsedKey | None:
    """Return the parts of a well-formed key, or None if it cannot be one of ours."""
    if len(key) != len(prefix) + BODY_LENGTH + CHECKSUM_LENGTH or not key.startswith(prefix):
        return None
    body = key[len(prefix) : len(prefix) + BODY_LENGTH]
    checksum = key[len(prefix) + BODY_LENGTH :]
    if any(char not in ALPHABET for char in body) or not hmac.compare_digest(
        checksum, _checksum(body)
    ):
        return None
    return ParsedKey(key=key, lookup=body[:LOOKUP_LENGTH])


def _digest(key: str, secret: str) -> str:
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def digest_key(key: str) -> str:
    """The stored form of a key, under the current SCIM_KEY_HMAC_SECRET."""
    return _digest(key, settings.SCIM_KEY_HMAC_SECRET)


def digests_in_use(key: str) -> list[str]:
    """The key's digest under the current secret and under each fallback, so a rotated secret
    keeps the keys digested before the rotation working."""
    secrets_in_use = (settings.SCIM_KEY_HMAC_SECRET, *settings.SCIM_KEY_HMAC_SECRET_FALLBACKS)
    return [_digest(key, secret) for secret in secrets_in_use]


def key_matches(digests: list[str], digest: str) -> bool:
    """Whether ``digest`` is one of a presented key's ``digests_in_use``."""
    # Every digest is compared, so the time taken does not say which secret matched.
    return any([hmac.compare_digest(candidate, digest) for candidate in digests])


def masked(lookup: str, prefix: str = KEY_PREFIX) -> str:
    return f"{prefix}{lookup}…"


_KEY_SHAPED = re.compile(r"atk_(?:scim|agent)_[0-9A-Za-z]{4,}")


def redact_keys(text: str) -> str:
    """Mask anything shaped like one of our keys in text that echoes client input (error
    details, event details), so a key pasted into the wrong field is never repeated back."""
    return _KEY_SHAPED.sub(lambda match: match.group(0)[:13] + "…(redacted)", text)
