"""Keys shown in an Add Instance drawer but not saved yet.

The key is generated when the drawer opens so the admin can copy it before saving, as the
customer guide describes. Until Save it exists nowhere on the server: the session keeps only its
HMAC digest (the same digest ApiKey stores), and the browser posts the plaintext back with the
form. So an abandoned drawer leaves nothing that could authenticate, and Save only accepts a key
this session was actually given.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

from integrations import keys

SESSION_KEY = "integrations.pending_keys"
# Long enough to read the guide and switch to Okta; short enough that stale drafts go away.
MAX_AGE = timedelta(hours=2)
# Open drawers per session (several tabs, or Okta and Entra at once).
MAX_PENDING = 5


def _pending(session: SessionBase) -> dict[str, dict[str, str]]:
    now = timezone.now()
    drafts = session.get(SESSION_KEY) or {}
    return {
        digest: draft
        for digest, draft in drafts.items()
        if now - datetime.fromisoformat(draft["at"]) < MAX_AGE
    }


def pending_key_issue(*, session: SessionBase, kind: str) -> str:
    """Generate a key for a drawer of ``kind`` and remember its digest; returns the plaintext."""
    plaintext = keys.generate_key()
    drafts = _pending(session)
    drafts[keys.digest_key(plaintext)] = {"kind": kind, "at": timezone.now().isoformat()}
    newest = sorted(drafts.items(), key=lambda item: item[1]["at"])[-MAX_PENDING:]
    session[SESSION_KEY] = dict(newest)
    return plaintext


def pending_key_is_valid(*, session: SessionBase, kind: str, key: str) -> bool:
    """True if ``key`` was issued to this session for ``kind`` and has not been used or expired."""
    if keys.parse_key(key) is None:
        return False
    draft = _pending(session).get(keys.digest_key(key))
    return draft is not None and draft["kind"] == kind


def pending_key_discard(*, session: SessionBase, key: str) -> None:
    drafts = _pending(session)
    drafts.pop(keys.digest_key(key), None)
    session[SESSION_KEY] = drafts
