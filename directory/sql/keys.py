"""The SCIM key check's statement, and the rate limiter's counter upsert it can carry."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import connection, models

from directory import models as directory_models
from directory.sql.base import columns, fetch, from_row


def api_keys_with_owners(lookup: str) -> list[models.Model]:
    """The SCIM keys with this lookup prefix, each with its instance and account attached."""
    return [_key_with_owners(row) for row in fetch(_key_with_owners_sql(), [lookup])]


def api_keys_with_owners_counted(
    lookup: str, digests: list[str], window_index: int, *, async_commit: bool
) -> tuple[list[models.Model], int | None]:
    """:func:`api_keys_with_owners`, and in the same statement the request counted against the
    key whose digest is one of ``digests`` (the presented key's, under each secret in use): its
    counter's hits in ``window_index``, or None when no key matched. PostgreSQL only.

    Every SCIM request checks its key and counts itself: one round trip instead of two.
    """
    rows = fetch(_key_with_owners_counted_sql(async_commit), [digests, lookup, window_index])
    width = _key_owner_slices()[-1][2]
    hits = rows[0][-1] if rows else None
    return [_key_with_owners(row[:width]) for row in rows], hits


def _key_with_owners(row: Sequence) -> models.Model:
    api_key, instance, account = (
        from_row(model, row[start:end]) for model, start, end in _key_owner_slices()
    )
    instance.account = account
    api_key.instance = instance
    return api_key


def counter_hit(scope: str, window_index: int, *, async_commit: bool) -> int:
    """Count one hit of ``scope`` in ``window_index``; returns the window's hits so far."""
    values = "VALUES (%s, %s, 1)"
    if async_commit:
        values = f"SELECT %s, %s, 1 FROM {_ASYNC_COMMIT}"
    return fetch(_COUNTER_UPSERT.format(values=values), [scope, window_index])[0][0]


# A row left from an older window restarts at 1; a request stamped with an older window (a host
# whose clock lags) still counts. Works on PostgreSQL and on SQLite >= 3.35 (the quick start).
_COUNTER_UPSERT = """INSERT INTO integrations_requestcounter (scope, window_index, hits) {values}
ON CONFLICT (scope) DO UPDATE SET
    hits = CASE WHEN integrations_requestcounter.window_index >= excluded.window_index
                THEN integrations_requestcounter.hits + 1 ELSE 1 END,
    window_index = CASE WHEN integrations_requestcounter.window_index >= excluded.window_index
                        THEN integrations_requestcounter.window_index ELSE excluded.window_index END
RETURNING hits"""
# On PostgreSQL a counter's own statement commits without waiting for the WAL flush, so counting
# a request never waits on the disk. A crash can lose the last fraction of a second of counts,
# which a rate limit can afford; nothing else is written in that transaction.
_ASYNC_COMMIT = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"


def _key_owner_models() -> list[tuple[type[models.Model], str]]:
    from integrations.models import ApiKey, IntegrationInstance  # it imports this module

    return [(ApiKey, "k"), (IntegrationInstance, "i"), (directory_models.Account, "a")]


@cache
def _key_owner_slices() -> list[tuple[type[models.Model], int, int]]:
    slices, start = [], 0
    for model, _ in _key_owner_models():
        end = start + len(model._meta.concrete_fields)
        slices.append((model, start, end))
        start = end
    return slices


@cache
def _key_with_owners_counted_sql(async_commit: bool) -> str:
    """The lookup in a WITH, and the counter upsert fed by its row whose digest was presented.
    A refused key (revoked, retired) that is presented is counted too: its 401 comes first, so
    the count can only ever throttle a key that is refused anyway."""
    counted = "SELECT 'key:' || counted_id, %s, 1 FROM found"
    if async_commit:
        counted += f", {_ASYNC_COMMIT}"
    return (
        f"WITH found AS (SELECT {_key_owner_columns()}, k.id AS counted_id,"
        f" k.digest = ANY(%s) AS presented FROM {_key_with_owners_from()}),"
        f" counted AS ({_COUNTER_UPSERT.format(values=counted + ' WHERE presented')})"
        " SELECT found.*, (SELECT hits FROM counted) FROM found"
    )


@cache
def _key_with_owners_sql() -> str:
    return f"SELECT {_key_owner_columns()} FROM {_key_with_owners_from()}"


def _key_owner_columns() -> str:
    return ", ".join(columns(model, alias) for model, alias in _key_owner_models())


def _key_with_owners_from() -> str:
    """The key joined to its instance and account, for the lookup prefix (the parameter)."""
    quote = connection.ops.quote_name
    (api_key, _), (instance, _), (account, _) = _key_owner_models()
    return (
        f"{quote(api_key._meta.db_table)} k"
        f" JOIN {quote(instance._meta.db_table)} i ON i.id = k.instance_id"
        f" JOIN {quote(account._meta.db_table)} a ON a.id = i.account_id"
        " WHERE k.lookup = %s"
    )
