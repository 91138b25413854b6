from __future__ import annotations

import logging
from enum import StrEnum

from django.conf import settings
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)


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
# What the APIs (SCIM and agent check-in), /readyz and the pages answer as 503 with Retry-After:
# the database is unreachable, went away mid-request, or aborted the request (a deadlock, a lock
# timeout).
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
DATABASE_UNAVAILABLE_DETAIL = "The directory database is unavailable; retry shortly."
REDACTED = "[redacted]"


def database_unavailable_headers() -> dict[str, str]:
    return {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}


def database_error_summary(exc: BaseException) -> str:
    """The error's class and the driver's first line, which says what failed: for a wrong
    DATABASE_URL, 'connection to server at "db", port 5432 failed: FATAL: database "x" does not
    exist' (or Connection refused, or password authentication failed), so that a
    misconfiguration does not pass for an outage. libpq never quotes the password; should any
    message hold a configured one, it is masked."""
    lines = str(exc).strip().splitlines()
    summary = f"{type(exc).__name__}: {lines[0].strip()}" if lines else type(exc).__name__
    for database in settings.DATABASES.values():
        for password in (database.get("PASSWORD"), database.get("OPTIONS", {}).get("password")):
            if password:
                summary = summary.replace(str(password), REDACTED)
    return summary


def database_unavailable(exc: BaseException, *, what: str) -> dict[str, str]:
    """Log why ``what`` (a SCIM request, a check-in, /readyz, a page) lost the database, in one
    WARNING line without a traceback (an outage would fill the logs with identical ones), and
    return the headers of the 503 that answers it."""
    logger.warning("%s failed: database unavailable (%s)", what, database_error_summary(exc))
    return database_unavailable_headers()


class DirectoryError(Exception):
    """A rule of the directory was broken; the SCIM layer and the UI turn it into their errors."""

    def __init__(self, detail: str, *, kind: ErrorKind | None = None, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.kind = kind
        self.status = status
