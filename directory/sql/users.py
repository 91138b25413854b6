"""A SCIM user's one-statement reads and writes (PostgreSQL only): the user with its emails,
groups and row version; a create with its emails, agents and events; an update of the user's
own columns, with its events, at the version read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cache

from django.db import models

from directory import models as directory_models
from directory.sql.base import (
    columns,
    database,
    fetch,
    from_row,
    insert_head,
    saved_values,
    update_sql,
)
from directory.sql.resources import EmailRow, account_scope


def user_resource(account_id: int, scim_id: uuid.UUID) -> tuple[
    directory_models.DirectoryUser | None, list[EmailRow], list[tuple[str, str]], str
]:
    """PostgreSQL only: :func:`scim_resource` for a user, unlocked, with what
    :func:`user_page_values` reads for it (its addresses, its groups) and the version of its row
    (``xmin``, which every update of the row changes) for :func:`user_update_at_version`.

    One statement for what a GET answers and a PUT or PATCH starts from: it was two.
    """
    db = database()
    key = directory_models.DirectoryUser._meta.get_field("scim_id").get_db_prep_value(scim_id, db)
    rows = fetch(_user_resource_sql(), [account_id, key])
    if not rows:
        return None, [], [], ""
    *values, emails, groups, version = rows[0]
    user = from_row(directory_models.DirectoryUser, values)
    return user, [tuple(email) for email in emails], [tuple(group) for group in groups], version


@cache
def _user_resource_sql() -> str:
    user, email = directory_models.DirectoryUser, directory_models.UserEmail
    membership, group = directory_models.GroupMembership, directory_models.Group
    return (
        f"SELECT {columns(user, 'u')},"
        " COALESCE((SELECT json_agg(json_build_array(e.value, e.type, e.display, e.is_primary)"
        f" ORDER BY e.id) FROM {email._meta.db_table} e WHERE e.user_id = u.id), '[]'),"
        " COALESCE((SELECT json_agg(json_build_array(g.scim_id, g.display_name) ORDER BY m.id)"
        f" FROM {membership._meta.db_table} m JOIN {group._meta.db_table} g ON g.id = m.group_id"
        " WHERE m.user_id = u.id), '[]'),"
        f" u.xmin::text FROM {user._meta.db_table} u WHERE {account_scope(user)} AND u.scim_id = %s"
    )


def user_create(
    user: directory_models.DirectoryUser,
    emails: Sequence[EmailRow],
    records: Sequence[models.Model] = (),
) -> int | None:
    """PostgreSQL only: INSERT the new, active ``user`` (without a product login) with its
    ``emails``, attach the agents its userName and addresses match (as :func:`agents_attach`)
    and INSERT ``records`` (the request's events), all in one statement; returns the user's id.

    When a live user of the account already holds the userName (ignoring case) it writes
    nothing and returns None: the unique index decides, without an error PostgreSQL would log
    with the name in it, and settles two concurrent creates of one name. One statement is one
    round trip and needs no transaction; the check, the four inserts and their BEGIN and
    COMMIT were seven. Its text is the same for every create, and its parameters stay within
    the driver's cache of parsed statements (50): parsing it afresh was a quarter of a create.
    """
    fixed = {name: getattr(user, name) for name in _NEW_USER_FIXED}
    if fixed != {name: value for name, (_, value) in _NEW_USER_FIXED.items()}:
        raise ValueError(f"user_create writes a new, active user without a login, not {fixed}")
    sql, fields = _user_create_sql(tuple(type(record) for record in records))
    params = saved_values(user, fields, adding=True)
    params += [list(column) for column in zip(*emails, strict=True)] if emails else [[]] * 4
    names = sorted({user.user_name, *(email[0] for email in emails)})
    local_parts = [name.rpartition("@") for name in names]
    params += [names, [local for local, _, domain in local_parts if local and domain],
               [domain for local, _, domain in local_parts if local and domain]]
    rows = fetch(sql, params + _records_values(records))
    return rows[0][0] if rows else None


# What a new user created over SCIM always has, written as constants (fewer parameters).
_NEW_USER_FIXED = {
    "agent_count": ("0", 0),
    "counted_agent_count": ("0", 0),
    "deactivated_at": ("NULL", None),
    "deleted_at": ("NULL", None),
    "login_id": ("NULL", None),
}


@cache
def _user_create_sql(record_models: tuple[type[models.Model], ...]) -> tuple[str, list[models.Field]]:
    """:func:`user_create`'s statement, and the user fields its first parameters are for."""
    head, all_fields = insert_head(directory_models.DirectoryUser)
    values, fields = [], []
    for field in all_fields:
        if field.attname in _NEW_USER_FIXED:
            values.append(_NEW_USER_FIXED[field.attname][0])
        else:
            values.append("%s")
            fields.append(field)
    parts = [
        f"new_user AS ({head} VALUES ({', '.join(values)})"
        " ON CONFLICT DO NOTHING RETURNING id, account_id)",
        "new_emails AS (INSERT INTO directory_useremail"
        " (user_id, account_id, value, type, display, is_primary)"
        " SELECT new_user.id, new_user.account_id, e.value, e.type, e.display, e.is_primary"
        " FROM new_user, unnest(%s::text[], %s::text[], %s::text[], %s::boolean[])"
        " WITH ORDINALITY AS e(value, type, display, is_primary, n) ORDER BY e.n)",
        # agents_attach's match, with the names and the local@domain parts as arrays.
        "attached AS (UPDATE directory_agent SET user_id = new_user.id,"
        " is_uninstall_required = false FROM new_user"
        " WHERE directory_agent.account_id = new_user.account_id"
        " AND directory_agent.user_id IS NULL AND NOT directory_agent.is_manually_assigned"
        " AND (UPPER(directory_agent.logon_name) IN (SELECT UPPER(n) FROM unnest(%s::text[]) n)"
        " OR EXISTS (SELECT 1 FROM unnest(%s::text[], %s::text[]) AS n(local, domain)"
        " JOIN directory_accountdomain d ON d.account_id = directory_agent.account_id"
        " AND UPPER(d.email_domain) = UPPER(n.domain)"
        " WHERE UPPER(directory_agent.logon_user) = UPPER(n.local)"
        " AND UPPER(d.netbios_name) = UPPER(directory_agent.logon_domain))))",
    ]
    parts += _records_sql(record_models, "new_user")
    return f"WITH {', '.join(parts)} SELECT id FROM new_user", fields


def user_update_at_version(
    user: directory_models.DirectoryUser, version: str, records: Sequence[models.Model] = ()
) -> bool:
    """PostgreSQL only: UPDATE the user's row as :func:`row_update` does with
    ``written_fields()``, and INSERT ``records`` (the request's events), in one statement, if
    the row is still at ``version`` (its ``xmin`` as :func:`user_resource` read it). Returns
    whether it was; if not, nothing is written.

    A write that changes nothing but the user's own columns needs no row lock this way: one
    round trip, where the lock, the update, the events and their BEGIN and COMMIT were five.
    Run it outside a transaction, as the reads before it: ``xmin`` is the transaction that
    wrote the row version, and two versions written by one transaction share it.
    """
    update, fields = update_sql(type(user), type(user).written_fields())
    parts = [
        f"updated AS ({update} AND xmin = %s::xid RETURNING id)",
        *_records_sql(tuple(type(record) for record in records), "updated"),
    ]
    params = [*saved_values(user, fields, adding=False), user.pk, version, *_records_values(records)]
    return bool(fetch(f"WITH {', '.join(parts)} SELECT id FROM updated", params))


def user_lock_at_version(user_id: int, version: str) -> bool:
    """PostgreSQL only: lock the user's row for update if it is still at ``version`` (as
    :func:`user_resource` read it); whether it was. A write that is not a plain update keeps the
    read it started from instead of reading the row again under the lock."""
    return bool(fetch(
        "SELECT 1 FROM directory_directoryuser WHERE id = %s AND xmin = %s::xid FOR UPDATE",
        [user_id, version],
    ))


def _records_sql(record_models: Sequence[type[models.Model]], source: str) -> list[str]:
    """Parts of a WITH that INSERT one row of each model, written only if ``source`` has a row;
    their parameters are :func:`_records_values`."""
    parts = []
    for number, model in enumerate(record_models):
        head, fields = insert_head(model)
        parts.append(f"record_{number} AS ({head} SELECT {', '.join(['%s'] * len(fields))} FROM {source})")
    return parts


def _records_values(records: Sequence[models.Model]) -> list:
    return [value for record in records for value in saved_values(record, insert_head(type(record))[1], adding=True)]
