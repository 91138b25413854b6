from __future__ import annotations

from enum import StrEnum

from django.db import InterfaceError, OperationalError


class ErrorKind(StrEnum):
    """What sort of rule a :class:`DirectoryError` reports, for callers that answer differently.

    The SCIM API maps kinds to RFC 7644 scimTypes (``directory/scim/http.py``); the pages put
    an error with a kind on the field it names.
    """

    INVALID = "invalid"  # a value breaks a rule of its own (too long, wrong type, not ours)
    CONFLICT = "conflict"  # a value clashes with one that exists (a name taken)
    NEEDS_CONFIRMATION = "needs_confirmation"  # allowed once the admin confirms


# How long a client should wait before retrying when the database is unavailable.
DATABASE_RETRY_AFTER_SECONDS = 5
# What both APIs (SCIM and agent check-in) answer as 503 with Retry-After: the database is
# unreachable, went away mid-request, or aborted the request (a deadlock, a lock timeout).
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
DATABASE_UNAVAILABLE_DETAIL = "The directory database is unavailable; retry shortly."


def database_unavailable_headers() -> dict[str, str]:
    return {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}


class DirectoryError(Exception):
    """A rule of the directory was broken; the SCIM layer and the UI turn it into their errors."""

    def __init__(self, detail: str, *, kind: ErrorKind | None = None, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.kind = kind
        self.status = status
