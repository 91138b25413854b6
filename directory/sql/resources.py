"""The directory's statements: the rows SCIM documents are rendered from, one resource or an
``eq`` lookup in ``for_account``'s scope, membership and user writes, agents, the tally."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from functools import cache

from django.core.exceptions import EmptyResultSet
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

# The models import this package; by the time a statement runs they are loaded.
from directory import models as directory_models
from directory.sql.base import (
    columns,
    database,
    fetch,
    from_row,
    one_of,
    uuid_text,
)

# The first key of the tally fold's advisory lock (the second is the account): "tally" in ASCII.
_TALLY_LOCK = 0x74616C6C


# --- the rows SCIM documents are rendered from -----------------------------------------------
# Plain tuples for a whole page at once: the ORM's cost to build and iterate a query exceeded
# the query's own. Ids come back as text straight from the database: a page of groups can hold
# 150,000 member ids, and building and printing a ``uuid.UUID`` for each was most of the time
# spent rendering them.


def user_email_values(user_ids: list[int]) -> dict[int, list[tuple[str, str, str, bool]]]:
    """(value, type, display, primary) of each user's addresses, in the order they were sent."""
    return user_page_values(user_ids, emails=True, groups=False)[0]


def user_group_values(user_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """(group id, group displayName) of each user's groups, oldest membership first."""
    return user_page_values(user_ids, emails=False, groups=True)[1]


def user_page_values(
    user_ids: list[int], *, emails: bool = True, groups: bool = True
) -> tuple[dict[int, list[tuple[str, str, str, bool]]], dict[int, list[tuple[str, str]]]]:
    """What :func:`user_email_values` and :func:`user_group_values` return, in one query.

    Every SCIM read of users (Okta's ``userName eq`` lookup above all) needs both; two ORM
    queries cost about 1.5 ms of Python between them, this one about 0.3 ms.
    """
    addresses, memberships = defaultdict(list), defaultdict(list)
    if not user_ids or not (emails or groups):
        return addresses, memberships
    parts = ([_email_rows_sql()] if emails else []) + ([_group_rows_sql()] if groups else [])
    ids, params = one_of(user_ids)
    sql = " UNION ALL ".join(part.format(ids=ids) for part in parts)
    for is_group, user_id, _, value, kind, display, is_primary in fetch(
        sql + " ORDER BY 1, 2, 3", params * len(parts)
    ):
        if is_group:
            memberships[user_id].append((value, kind))
        else:
            addresses[user_id].append((value, kind, display, bool(is_primary)))
    return addresses, memberships


@cache
def _email_rows_sql() -> str:
    # Columns: is it a group, user, order within the user, then the row's own values.
    return (
        "SELECT 0, user_id, id, value, type, display, is_primary"
        f" FROM {directory_models.UserEmail._meta.db_table} WHERE user_id {{ids}}"
    )


@cache
def _group_rows_sql() -> str:
    false = "false" if connection.vendor == "postgresql" else "0"
    return (
        f"SELECT 1, m.user_id, m.id, {uuid_text('g.scim_id')}, g.display_name, '', {false}"
        f" FROM {directory_models.GroupMembership._meta.db_table} m"
        f" JOIN {directory_models.Group._meta.db_table} g ON g.id = m.group_id"
        " WHERE m.user_id {ids}"
    )


def group_member_values(group_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """(user id, display) of each group's members, oldest first.

    One plain fetch from the membership rows alone (one covering index): the ORM fetches rows
    a hundred at a time, 500 round trips through its iterator for a 50,000-member group.
    """
    rows = defaultdict(list)
    if not group_ids:
        return rows
    ids, params = one_of(group_ids)
    sql = (
        f"SELECT group_id, {uuid_text('user_scim_id')}, display"
        f" FROM {directory_models.GroupMembership._meta.db_table}"
        f" WHERE group_id {ids} ORDER BY group_id, id"
    )
    for group_id, scim_id, display in fetch(sql, params):
        rows[group_id].append((scim_id, display))
    return rows


def group_members_by_scim_id(group_id: int) -> dict[str, tuple[int, str]]:
    """{member's SCIM id: (user primary key, display)} of one group, oldest member first."""
    sql = (
        f"SELECT {uuid_text('user_scim_id')}, user_id, display"
        f" FROM {directory_models.GroupMembership._meta.db_table} WHERE group_id = %s ORDER BY id"
    )
    return {scim_id: (user_id, display) for scim_id, user_id, display in fetch(sql, [group_id])}


# --- membership writes -----------------------------------------------------------------------


def user_pks_by_scim_id(
    account_id: int, scim_ids: list[str], *, include_deleted: bool
) -> dict[str, int]:
    """{canonical SCIM id: primary key} of the account's users among ``scim_ids``.

    On PostgreSQL the ids travel as one comma-separated text parameter (canonical ids hold no
    commas): 50,000 ``IN`` parameters, or a 50,000-element array, cost more to prepare and send
    than the lookup itself.
    """
    if not scim_ids:
        return {}
    if connection.vendor == "postgresql":
        live = "" if include_deleted else " AND deleted_at IS NULL"
        sql = (
            f"SELECT scim_id::text, id FROM {directory_models.DirectoryUser._meta.db_table}"
            f" WHERE account_id = %s AND scim_id = ANY(string_to_array(%s, ',')::uuid[]){live}"
        )
        return dict(fetch(sql, [account_id, ",".join(scim_ids)]))
    users = directory_models.DirectoryUser.objects.filter(
        account_id=account_id, scim_id__in=scim_ids
    )
    if not include_deleted:
        users = users.filter(deleted_at__isnull=True)
    return {str(scim_id): pk for scim_id, pk in users.values_list("scim_id", "pk")}


def memberships_delete(group_id: int, user_ids: list[int]) -> int:
    """End the memberships of ``user_ids`` in the group; returns how many ended.

    The ORM's delete of 100 members took four times as long (nothing references a membership,
    so there is nothing for it to collect).
    """
    if not user_ids:
        return 0
    ids, params = one_of(user_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {directory_models.GroupMembership._meta.db_table}"
            f" WHERE group_id = %s AND user_id {ids}",
            [group_id, *params],
        )
        return cursor.rowcount


def memberships_insert_missing(group_id: int, members: dict[int, tuple[str, str]]) -> int:
    """Make each of ``members`` ({user pk: (SCIM id, display)}) a member of the group unless it
    is one already, in the order given; returns how many were added.

    ``INSERT ... ON CONFLICT DO NOTHING``: checking which are members first and then
    ``bulk_create`` took twice as long, all of it inside the group's lock. On PostgreSQL the
    members travel as three arrays, so the statement's text is the same for any number of
    them: the driver re-parsed a 100-row ``VALUES`` list on every PATCH. SQLite takes a
    ``VALUES`` list per thousand members.
    """
    if not members:
        return 0
    model = directory_models.GroupMembership
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (group_id, user_id, user_scim_id, display, created_at)"
                " SELECT %s, m.user_id, m.scim_id, m.display, %s FROM unnest(%s::bigint[],"
                " %s::uuid[], %s::text[]) WITH ORDINALITY AS m(user_id, scim_id, display, position)"
                " ORDER BY m.position ON CONFLICT (group_id, user_id) DO NOTHING RETURNING user_id",
                [
                    group_id,
                    timezone.now(),
                    list(members),
                    [scim_id for scim_id, _ in members.values()],
                    [display for _, display in members.values()],
                ],
            )
            return len(cursor.fetchall())
    as_stored = model._meta.get_field("user_scim_id").get_db_prep_value
    now = model._meta.get_field("created_at").get_db_prep_value(timezone.now(), connection)
    rows = [
        (group_id, user_id, as_stored(uuid.UUID(scim_id), connection), display, now)
        for user_id, (scim_id, display) in members.items()
    ]
    added = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            batch = rows[start : start + 1000]
            cursor.execute(
                f"INSERT INTO {table} (group_id, user_id, user_scim_id, display, created_at) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s)"] * len(batch))
                + " ON CONFLICT (group_id, user_id) DO NOTHING RETURNING user_id",
                [value for row in batch for value in row],
            )
            added += len(cursor.fetchall())
    return added


# --- the live-user tally ---------------------------------------------------------------------


def tally_sum(account_id: int) -> tuple[int, int]:
    """The account's live users (the sum of its tally rows) and how many rows were summed."""
    table = directory_models.LiveUserTally._meta.db_table
    [(total, rows)] = fetch(
        f"SELECT COALESCE(SUM(delta), 0), COUNT(*) FROM {table} WHERE account_id = %s", [account_id]
    )
    return int(total), rows


def tally_fold(account_id: int) -> None:
    """Replace the account's tally rows by one row holding their sum.

    The rows deleted are exactly those summed (``RETURNING``), and a reader sees either all of
    them or the sum, so the total never jumps. On PostgreSQL one folder at a time per account;
    the others skip, since the rows will still be there.
    """
    table = directory_models.LiveUserTally._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_TALLY_LOCK, account_id])
            if not cursor.fetchone()[0]:
                return
        cursor.execute(f"DELETE FROM {table} WHERE account_id = %s RETURNING delta", [account_id])
        total = sum(delta for (delta,) in cursor.fetchall())
        cursor.execute(
            f"INSERT INTO {table} (account_id, delta) VALUES (%s, %s)", [account_id, total]
        )


# --- the admin -------------------------------------------------------------------------------


def estimated_row_count(table: str) -> int | None:
    """PostgreSQL's estimate of a table's rows (``pg_class.reltuples``), None elsewhere.

    ``COUNT(*)`` reads the whole table; the admin's changelists of huge tables show this.
    """
    if connection.vendor != "postgresql":
        return None
    [(estimate,)] = fetch(
        "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table]
    )
    return estimate


# --- writes of a SCIM user create or rename -------------------------------------------------
# The ORM built these from Q objects and an Exists subquery on every create: with the userName
# check they were 40% of a create's Python time (bench/single.py profile). The statements are
# the ORM's own, written out once; their text depends only on how many names there are.


def user_name_taken(account_id: int, user_name: str, *, except_id: int | None = None) -> bool:
    """Whether another live user of the account holds ``user_name``, ignoring case."""
    sql = (
        "SELECT 1 FROM directory_directoryuser WHERE account_id = %s AND deleted_at IS NULL"
        " AND UPPER(user_name) = UPPER(%s)"
    )
    params = [account_id, user_name]
    if except_id is not None:
        sql += " AND id <> %s"
        params.append(except_id)
    return bool(fetch(sql + " LIMIT 1", params))


def agents_attach(account_id: int, user_id: int, names: Sequence[str], *, uninstall: bool) -> int:
    """Give the user the account's unassigned, never hand-assigned agents whose logon is one of
    ``names`` (ignoring case), or ``local`` in a DOMAIN the account maps to the email domain of
    a ``local@domain`` name. Returns how many agents it attached. (``user_create`` matches by
    the same rule, written with arrays.)"""
    conditions, params = [], []
    for name in names:
        conditions.append("UPPER(logon_name) = UPPER(%s)")
        params.append(name)
        local, _, domain = name.rpartition("@")
        if local and domain:
            conditions.append(
                "(UPPER(logon_user) = UPPER(%s) AND EXISTS (SELECT 1 FROM directory_accountdomain d"
                " WHERE d.account_id = %s AND UPPER(d.email_domain) = UPPER(%s)"
                " AND UPPER(d.netbios_name) = UPPER(directory_agent.logon_domain)))"
            )
            params += [local, account_id, domain]
    if not conditions:
        return 0
    sql = (
        "UPDATE directory_agent SET user_id = %s, is_uninstall_required = %s"
        " WHERE account_id = %s AND user_id IS NULL AND NOT is_manually_assigned"
        f" AND ({' OR '.join(conditions)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, uninstall, account_id, *params])
        return cursor.rowcount


def agents_flag_uninstall(user_id: int, *, required: bool) -> int:
    """Set the uninstall flag of the user's agents to ``required``; returns how many changed.
    (Every deactivation runs it; the ORM's build was a tenth of one.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE directory_agent SET is_uninstall_required = %s"
            " WHERE user_id = %s AND is_uninstall_required <> %s",
            [required, user_id, required],
        )
        return cursor.rowcount


EmailRow = tuple[str, str, str, bool]  # value, type, display, primary


def user_emails_insert(user_id: int, account_id: int, emails: Sequence[EmailRow]) -> None:
    """Add (value, type, display, primary) ``emails`` to the user's addresses, in that order.
    (Every create writes them; the ORM's bulk_create cost more than the statement's own time.)"""
    if not emails:
        return
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(emails))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO directory_useremail"
            " (user_id, account_id, value, type, display, is_primary)"
            f" VALUES {rows}",
            [value for email in emails for value in (user_id, account_id, *email)],
        )


def user_emails_replace(user_id: int, account_id: int, emails: Sequence[EmailRow]) -> None:
    """Make ``emails`` the user's only addresses."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM directory_useremail WHERE user_id = %s", [user_id])
    user_emails_insert(user_id, account_id, emails)


# --- model instances from hand-written SQL ---------------------------------------------------
# Both run on every SCIM request and were measured against their ORM equivalents
# (``filter(pk__in=ids)``, ``select_related("instance__account")``) with bench/single.py,
# alternating: Okta's userName lookup took 2.3-2.4 ms with them and 3.0-3.1 ms without.


def in_id_order(ids: QuerySet) -> list[models.Model]:
    """The rows a ``values("pk")`` queryset selects, as model instances in id order.

    Hand-written around the ORM's own SQL for ``ids`` (which carries the tenant scope).
    """
    model = ids.model
    try:
        subquery, params = ids.query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing, such as an id that is no UUID
        return []
    sql = f"SELECT {columns(model)} FROM {model._meta.db_table} WHERE id IN ({subquery}) ORDER BY id"
    return [from_row(model, row) for row in fetch(sql, list(params))]


def scim_resource(model: type[models.Model], account_id: int, scim_id: uuid.UUID, *,
                  lock: bool = False) -> models.Model | None:
    """The account's user or group with this SCIM id, in the scope of ``for_account`` (a
    deleted user is not found); locked for update when asked.

    Every SCIM read, PUT, PATCH and DELETE of one resource starts here: the ORM's build of
    the same ``for_account(...).get(scim_id=...)`` was a third of a deactivation's Python.
    """
    db = database()
    sql = _scim_resource_sql(model, lock and db.features.has_select_for_update)
    key = model._meta.get_field("scim_id").get_db_prep_value(scim_id, db)
    rows = fetch(sql, [account_id, key])
    return from_row(model, rows[0]) if rows else None


@cache
def _scim_resource_sql(model: type[models.Model], lock: bool) -> str:
    return (
        f"SELECT {columns(model)} FROM {model._meta.db_table}"
        f" WHERE {account_scope(model)} AND scim_id = %s{' FOR UPDATE' if lock else ''}"
    )


def scim_equal(model: type[models.Model], account_id: int, column: str, value: str, *,
               ignore_case: bool, offset: int, limit: int) -> list[models.Model]:
    """A page, in id order, of the account's users or groups (``for_account``'s scope) whose
    ``column`` equals ``value``: the ``userName eq`` / ``displayName eq`` lookup Okta and Entra
    send before every create. The ORM's build of the same page was two thirds of a lookup."""
    where = _equal(model, column, ignore_case)
    rows = fetch(
        f"SELECT {columns(model)} FROM {model._meta.db_table} WHERE {where}"
        " ORDER BY id LIMIT %s OFFSET %s",
        [account_id, value, limit, offset],
    )
    return [from_row(model, row) for row in rows]


def scim_equal_count(model: type[models.Model], account_id: int, column: str, value: str, *,
                     ignore_case: bool) -> int:
    """How many rows :func:`scim_equal` pages through."""
    where = _equal(model, column, ignore_case)
    return fetch(f"SELECT COUNT(*) FROM {model._meta.db_table} WHERE {where}", [account_id, value])[0][0]


@cache
def _equal(model: type[models.Model], column: str, ignore_case: bool) -> str:
    """The scope and the comparison; parameters: the account's id, the value."""
    quoted = connection.ops.quote_name(model._meta.get_field(column).column)
    compared = f"UPPER({quoted}) = UPPER(%s)" if ignore_case else f"{quoted} = %s"
    return f"{account_scope(model)} AND {compared}"


def account_scope(model: type[models.Model]) -> str:
    """``for_account``'s condition, the account's id its one parameter: a user deleted over
    SCIM is a tombstone no read finds."""
    live = " AND deleted_at IS NULL" if model is directory_models.DirectoryUser else ""
    return f"account_id = %s{live}"


