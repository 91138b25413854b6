"""Request rate limits counted in the database: per API key, failed SCIM authentications per
client address, and failed sign-ins (integrations/sign_in.py).

A fixed-window counter row per scope is bumped with one ``INSERT ... ON CONFLICT ... DO UPDATE
... RETURNING`` per request. The database is the only shared state the app already has, so the
count is the same for every gunicorn worker and every host, and nothing else has to run.
Over the limit, callers answer 429 with the returned wait as an integer ``Retry-After`` (Okta
waits exactly that long, then retries).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping

from django.conf import settings
from django.db import connection
from django.db.models import F

from directory.sql import counter_hit
from integrations.models import ApiKey, RequestCounter

# About one request in this many also deletes rows of windows long gone, so rows left by
# one-off client addresses do not pile up.
_SWEEP_ONE_IN = 1000


def hit(scope: str, *, limit: int, window_seconds: int) -> int | None:
    """Count one request in ``scope``; return the seconds to wait if it is over ``limit``.

    ``limit`` 0 turns the limit off (and costs no query).
    """
    if limit <= 0:
        return None
    window_index = int(time.time() // window_seconds)
    hits = counter_hit(scope[:120], window_index, async_commit=async_commit_allowed())
    if random.randrange(_SWEEP_ONE_IN) == 0:
        # Window numbers are only comparable within one kind of scope (their lengths differ).
        kind = scope.partition(":")[0] + ":"
        RequestCounter.objects.filter(
            scope__startswith=kind, window_index__lt=window_index - 1
        ).delete()
    return _wait(hits, limit, window_index, window_seconds)


def _wait(hits: int, limit: int, window_index: int, window_seconds: int) -> int | None:
    return _seconds_left(window_index, window_seconds) if hits > limit else None


def _seconds_left(window_index: int, window_seconds: int) -> int:
    """Whole seconds until the window ends: an integer Retry-After, at least 1."""
    return max(1, math.ceil((window_index + 1) * window_seconds - time.time()))


def async_commit_allowed() -> bool:
    """A counter alone in its transaction may skip the WAL flush (``sql.counter_hit``)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def wait_if_over(limits: Mapping[str, int], *, window_seconds: int) -> int | None:
    """Seconds to wait if any scope already has ``limits[scope]`` hits in this window; counts
    nothing. One query, so a caller can refuse before doing the expensive part of a request."""
    window_index = int(time.time() // window_seconds)
    scopes = {scope[:120]: limit for scope, limit in limits.items()}
    rows = RequestCounter.objects.filter(scope__in=list(scopes), window_index__gte=window_index)
    if any(hits >= scopes[scope] for scope, hits in rows.values_list("scope", "hits")):
        return _seconds_left(window_index, window_seconds)
    return None


def release(scope: str, *, window_seconds: int) -> None:
    """Take back one hit of ``scope`` in the current window (an attempt that turned out not to
    count, such as a successful sign-in)."""
    window_index = int(time.time() // window_seconds)
    RequestCounter.objects.filter(
        scope=scope[:120], window_index=window_index, hits__gt=0
    ).update(hits=F("hits") - 1)


def reset(scope: str) -> None:
    """Forget the count of ``scope``."""
    RequestCounter.objects.filter(scope=scope[:120]).delete()


def api_key_window() -> int | None:
    """The per-key limit's current window, when the key check can count the request in its own
    statement (PostgreSQL, limit on); otherwise None and :func:`api_key_request_wait` counts."""
    if connection.vendor != "postgresql" or settings.SCIM_RATE_LIMIT_REQUESTS <= 0:
        return None
    return int(time.time() // settings.SCIM_RATE_LIMIT_WINDOW_SECONDS)


def api_key_counted_wait(hits: int, window_index: int) -> int | None:
    """Seconds to wait when the key check counted ``hits`` requests in ``window_index``."""
    return _wait(
        hits, settings.SCIM_RATE_LIMIT_REQUESTS, window_index, settings.SCIM_RATE_LIMIT_WINDOW_SECONDS
    )


def api_key_request_wait(api_key: ApiKey) -> int | None:
    """Count a request made with ``api_key``; seconds to wait if the key is over its limit."""
    return hit(
        f"key:{api_key.pk}",
        limit=settings.SCIM_RATE_LIMIT_REQUESTS,
        window_seconds=settings.SCIM_RATE_LIMIT_WINDOW_SECONDS,
    )


def authentication_failure_wait(client_address: str | None) -> int | None:
    """Count a failed authentication from ``client_address``; seconds to wait if over the limit.

    Only failures are limited per address, never valid keys: Okta sends every customer's
    requests from the same few addresses, so one tenant's stale key must not lock out others.
    """
    return hit(
        f"auth-failure:{client_address or 'unknown'}",
        limit=settings.SCIM_AUTH_FAILURE_LIMIT,
        window_seconds=settings.SCIM_AUTH_FAILURE_WINDOW_SECONDS,
    )
