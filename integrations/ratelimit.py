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

from integrations.models import ApiKey, RequestCounter

_TABLE = RequestCounter._meta.db_table
# Works on PostgreSQL and on SQLite >= 3.35 (the quick start). A row left from an older window
# restarts at 1; a request stamped with an older window (a host whose clock lags) still counts.
_UPSERT_TEMPLATE = f"""
INSERT INTO {_TABLE} (scope, window_index, hits) {{values}}
ON CONFLICT (scope) DO UPDATE SET
    hits = CASE WHEN {_TABLE}.window_index >= excluded.window_index
                THEN {_TABLE}.hits + 1 ELSE 1 END,
    window_index = CASE WHEN {_TABLE}.window_index >= excluded.window_index
                        THEN {_TABLE}.window_index ELSE excluded.window_index END
RETURNING hits
"""
# On PostgreSQL the counter's own one-statement transaction commits without waiting for the WAL
# flush, so counting a request never waits on the disk. A crash can lose the last fraction of a
# second of counts, which a rate limit can afford; nothing else is written in that transaction.
_UPSERT = _UPSERT_TEMPLATE.format(values="VALUES (%s, %s, 1)")
_UPSERT_ASYNC_COMMIT = _UPSERT_TEMPLATE.format(
    values="SELECT %s, %s, 1 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
)
# About one request in this many also deletes rows of windows long gone, so rows left by
# one-off client addresses do not pile up.
_SWEEP_ONE_IN = 1000


def hit(scope: str, *, limit: int, window_seconds: int) -> int | None:
    """Count one request in ``scope``; return the seconds to wait if it is over ``limit``.

    ``limit`` 0 turns the limit off (and costs no query).
    """
    if limit <= 0:
        return None
    now = time.time()
    window_index = int(now // window_seconds)
    upsert = _UPSERT
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        upsert = _UPSERT_ASYNC_COMMIT
    with connection.cursor() as cursor:
        cursor.execute(upsert, [scope[:120], window_index])
        (hits,) = cursor.fetchone()
    if random.randrange(_SWEEP_ONE_IN) == 0:
        # Window numbers are only comparable within one kind of scope (their lengths differ).
        kind = scope.partition(":")[0] + ":"
        RequestCounter.objects.filter(
            scope__startswith=kind, window_index__lt=window_index - 1
        ).delete()
    if hits <= limit:
        return None
    return max(1, math.ceil((window_index + 1) * window_seconds - now))


def wait_if_over(limits: Mapping[str, int], *, window_seconds: int) -> int | None:
    """Seconds to wait if any scope already has ``limits[scope]`` hits in this window; counts
    nothing. One query, so a caller can refuse before doing the expensive part of a request."""
    now = time.time()
    window_index = int(now // window_seconds)
    scopes = {scope[:120]: limit for scope, limit in limits.items()}
    rows = RequestCounter.objects.filter(scope__in=list(scopes), window_index__gte=window_index)
    if any(hits >= scopes[scope] for scope, hits in rows.values_list("scope", "hits")):
        return max(1, math.ceil((window_index + 1) * window_seconds - now))
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
