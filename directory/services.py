"""Writes to the directory. Each runs in one transaction; callers hold the row locks the
docstrings name.

Inside a caller's transaction (every SCIM write) they set no savepoints: each savepoint and
its release were two more round trips to PostgreSQL, and a SCIM request ends at its first
failure anyway. So a failure here dooms the caller's transaction; a caller that goes on after
catching one wraps the call in its own ``transaction.atomic()``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from directory.agent_services import agents_follow_user_state, agents_match_user
from directory.errors import DirectoryError, ErrorKind
from directory.models import DirectoryUser, Group, GroupMembership
from directory.sql import (
    group_members_by_scim_id,
    row_insert,
    row_update,
    user_email_values,
    user_emails_insert,
    user_emails_replace,
    user_name_taken,
    user_pks_by_scim_id,
)
from directory.sql import (
    user_create as user_create_statement,
)
from directory.sql import (
    user_update_at_version as user_update_at_version_statement,
)

MAX_NAMED_IN_ERROR = 10
# How we print ids, and so how Okta sends them back: no parsing needed.
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class EmailAddress:
    value: str
    type: str = ""
    display: str = ""
    is_primary: bool = False

    @property
    def row(self) -> tuple[str, str, str, bool]:
        """(value, type, display, primary), as the email rows hold it."""
        return (self.value, self.type, self.display, self.is_primary)


def _user_name_clash(user: DirectoryUser) -> DirectoryError:
    return DirectoryError(
        f"A user with userName {user.user_name!r} already exists.", kind=ErrorKind.CONFLICT, status=409
    )


def _user_name_taken(user: DirectoryUser) -> bool:
    return user_name_taken(user.account_id, user.user_name, except_id=user.pk)


@dataclass(frozen=True)
class LoadedUser:
    """A user as the caller read it, before changing it in memory.

    ``user_save`` compares the changed user with it to skip the checks and writes nothing
    asked for: the userName clash check, agent matching, email rows, access changes.
    """

    user_name: str
    is_active: bool
    # (value, type, display, is_primary) per address; None when the caller did not read them.
    emails: list[tuple[str, str, str, bool]] | None = None

    @classmethod
    def of(cls, user: DirectoryUser, emails: list[tuple] | None = None) -> LoadedUser:
        return cls(user.user_name, user.is_active, emails)


def _primary_email(emails: list[EmailAddress]) -> str:
    primary = next((e for e in emails if e.is_primary), emails[0] if emails else None)
    return primary.value if primary else ""


@transaction.atomic(savepoint=False)
def user_save(
    *, user: DirectoryUser, emails: list[EmailAddress] | None, loaded: LoadedUser | None = None
) -> DirectoryUser:
    """Insert or update a user and, when ``emails`` is given, replace its addresses.

    For an update the caller holds the user's row lock, and passes the user as it read it
    (``loaded``); without it every check and follow-up runs. A userName another live user of
    the account holds (ignoring case) is a 409. It is looked for first rather than left to the
    unique index, whose violation PostgreSQL logs with the userName in it; the index still
    settles two concurrent creates of one userName.
    """
    created = user.pk is None
    before = None if created else loaded
    unchanged_name = before is not None and before.user_name.upper() == user.user_name.upper()
    if not unchanged_name and _user_name_taken(user):
        raise _user_name_clash(user)
    if emails is not None:
        user.email = _primary_email(emails)
    user.last_modified_at = timezone.now()
    try:
        with transaction.atomic(savepoint=False):
            if created:
                row_insert(user)
            else:
                row_update(user, DirectoryUser.written_fields())
    except IntegrityError:
        raise _user_name_clash(user) from None
    renamed = before is None or user.user_name != before.user_name
    emails_changed = emails is not None and _replace_emails(
        user, emails, created=created, current=before.emails if before else None
    )
    if renamed or emails_changed:
        names = {user.user_name, *(e.value for e in emails or [])}
        agents_match_user(user=user, names=names)
    # A new user starts active; an update read without ``loaded`` may have changed either way.
    was_active = True if created else (before.is_active if before else None)
    if was_active is None or was_active != user.is_active:
        agents_follow_user_state(user=user)
        user.sync_login_access()
    return user


def user_create(
    *, user: DirectoryUser, emails: list[EmailAddress], records: Sequence[models.Model] = ()
) -> DirectoryUser:
    """Insert a new user with its addresses, and ``records`` (the request's events) with it.

    A userName another live user of the account holds (ignoring case) is a 409, and nothing is
    written. On PostgreSQL an active user without a product login, which is every SCIM create,
    is one statement (``sql.user_create``); otherwise :func:`user_save` and the records' inserts
    run in one transaction.
    """
    if connection.vendor == "postgresql" and user.is_active and user.login_id is None:
        user.email = _primary_email(emails)
        user.last_modified_at = timezone.now()
        rows = [e.row for e in emails]
        user_id = user_create_statement(user, rows, records)
        if user_id is None:
            raise _user_name_clash(user)
        user.pk = user_id
        user._state.adding = False
        user._state.db = connection.alias
        return user
    with transaction.atomic(savepoint=False):
        user_save(user=user, emails=emails)
        for record in records:
            row_insert(record, with_id=False)
    return user


def user_update_is_plain(
    *, user: DirectoryUser, loaded: LoadedUser, emails: list[EmailAddress] | None
) -> bool:
    """Whether saving ``user`` over the user as read (``loaded``) writes its row's columns and
    nothing else: the same userName, the same addresses (as read), no product login, and no
    agents to follow a change of state. Only on PostgreSQL, where
    :func:`user_update_at_version` can write it."""
    if connection.vendor != "postgresql" or user.login_id is not None:
        return False
    if user.user_name != loaded.user_name:
        return False
    if emails is not None and (
        loaded.emails is None
        or [tuple(row) for row in loaded.emails]
        != [e.row for e in emails]
    ):
        return False
    return user.is_active == loaded.is_active or not user.agent_count


def user_update_at_version(
    *, user: DirectoryUser, version: str, records: Sequence[models.Model] = ()
) -> bool:
    """Write a plain update (:func:`user_update_is_plain`) of ``user``, and ``records`` (the
    request's events) with it, if its row is still at ``version`` as read; returns whether it
    was. No row lock is taken: a caller that gets False reads the user again."""
    user.last_modified_at = timezone.now()
    return user_update_at_version_statement(user, version, records)


def _replace_emails(
    user: DirectoryUser,
    emails: list[EmailAddress],
    *,
    created: bool,
    current: list[tuple] | None,
) -> bool:
    """Make ``emails`` the user's addresses; returns whether anything changed.

    ``current`` holds the addresses as the caller already read them, if it did.
    """
    wanted = [e.row for e in emails]
    if created and not wanted:
        return False
    if not created:
        if current is None:
            current = user_email_values([user.pk])[user.pk]
        if [tuple(row) for row in current] == wanted:
            return False
    if created:
        user_emails_insert(user.pk, user.account_id, wanted)
    else:
        user_emails_replace(user.pk, user.account_id, wanted)
    if hasattr(user, "_prefetched_objects_cache"):
        user._prefetched_objects_cache.pop("email_rows", None)
    return True


@transaction.atomic(savepoint=False)
def user_delete(*, user: DirectoryUser) -> None:
    """Remove a user from SCIM but keep it as a tombstone: its row, id and history stay.

    The userName becomes free for a new user; the user leaves its groups and loses access.
    """
    now = timezone.now()
    user.deleted_at = now
    user.set_active(False, at=now)
    user.last_modified_at = now
    user.save(update_fields=["deleted_at", "is_active", "deactivated_at", "last_modified_at"])
    group_ids = list(user.memberships.values_list("group_id", flat=True))
    user.memberships.all().delete()
    Group.objects.filter(pk__in=group_ids).update(last_modified_at=now)
    agents_follow_user_state(user=user)
    user.sync_login_access()


# --- groups -------------------------------------------------------------------------------


def _member_value(item) -> tuple[str, str]:
    """(id, display) of one member as a client sent it."""
    display = ""
    if isinstance(item, dict):
        if "value" in item:  # how every client spells it: no case-insensitive search
            value = item["value"]
            display = item.get("display") or ""
        else:
            value = next((v for k, v in item.items() if k.lower() == "value"), None)
            display = next((v for k, v in item.items() if k.lower() == "display"), None) or ""
    else:
        value = item
    if not isinstance(value, str) or not value.strip():
        raise DirectoryError(
            "Each member needs a 'value' holding the user's id.", kind=ErrorKind.INVALID
        )
    if not isinstance(display, str):
        raise DirectoryError("A member's 'display' must be a string.", kind=ErrorKind.INVALID)
    return value.strip(), display[:320]


def _parse_members(
    members: Iterable, known: Container[str] = ()
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(display by canonical id, the id as sent where it was spelled otherwise, malformed ids).

    Ids in ``known`` (canonical ids, such as the current members) need no checking. The common
    shape, ``{"value": "...", "display": "..."}``, is read inline: a PUT can hold 50,000
    members, and a call per member was a third of its time. A member sent twice keeps the
    display it was sent with last.
    """
    wanted: dict[str, str] = {}
    spelled: dict[str, str] = {}
    bad: list[str] = []
    for item in members:
        if type(item) is dict:
            value, display = item.get("value"), item.get("display") or ""
            if type(value) is not str or type(display) is not str or not (value := value.strip()):
                value, display = _member_value(item)
        else:
            value, display = _member_value(item)
        if value in known or CANONICAL_UUID.fullmatch(value):
            wanted[value] = display[:320]
            continue
        try:
            key = str(uuid.UUID(value))
        except ValueError:
            bad.append(value)
            continue
        wanted[key] = display[:320]
        spelled[key] = value
    return wanted, spelled, bad


def _not_users(bad: list[str]) -> DirectoryError:
    bad = sorted(set(bad))
    named = ", ".join(bad[:MAX_NAMED_IN_ERROR])
    more = f" and {len(bad) - MAX_NAMED_IN_ERROR} more" if len(bad) > MAX_NAMED_IN_ERROR else ""
    return DirectoryError(
        f"These members are not users of this account: {named}{more}.", kind=ErrorKind.INVALID
    )




def _name_conflict(group: Group) -> DirectoryError:
    return DirectoryError(
        f"A group named {group.display_name!r} already exists.",
        kind=ErrorKind.CONFLICT,
        status=409,
    )


@dataclass(frozen=True)
class MembershipChange:
    """What a write did to a group's members."""

    added: int = 0
    removed: int = 0
    # The whole membership after the change as (SCIM id, display), oldest first, when the
    # write read it anyway (a full replacement); None otherwise.
    members: list[tuple[str, str]] | None = None


@dataclass(frozen=True)
class MemberEdit:
    """One change to a group's members as a client sent it: ``add`` or ``remove`` the
    ``members``, or ``replace`` the membership with them; ``remove`` of None removes all."""

    kind: str
    members: list | None = None


@transaction.atomic(savepoint=False)
def group_save(*, group: Group, members: list | None) -> MembershipChange:
    """Insert or update a group's attributes and, when ``members`` is given, set its members.

    For an update the caller holds the group's row lock (``Group.lock``). A name another group
    of the account holds (ignoring case) is a 409, found by the unique index. A member that is
    not a user of the account raises after the save; the caller's transaction undoes it.
    """
    group.last_modified_at = timezone.now()
    try:
        with transaction.atomic(savepoint=False):
            group.save()
    except IntegrityError:
        raise _name_conflict(group) from None
    if members is None:
        return MembershipChange()
    return _set_members(group, members)


def _set_members(group: Group, members: list) -> MembershipChange:
    """Make ``members`` (as sent) the whole membership, changing only the difference.

    Ids that are members already need no lookup: Okta's PUT of a 50,000-member group with one
    change looks up one id.
    """
    current = group_members_by_scim_id(group.pk)
    wanted, spelled, bad = _parse_members(members, known=current)
    new = [key for key in wanted if key not in current]
    found = user_pks_by_scim_id(group.account_id, new, include_deleted=False)
    bad.extend(spelled.get(key, key) for key in new if key not in found)
    if bad:
        raise _not_users(bad)
    return _make_membership(group, current, wanted, found)


def _make_membership(
    group: Group,
    current: dict[str, tuple[int, str]],
    wanted: dict[str, str],
    found: dict[str, int],
) -> MembershipChange:
    """Turn ``current`` ({SCIM id: (user pk, display)}) into ``wanted`` ({SCIM id: display}):
    one delete, one insert and the changed displays. ``found`` holds the user pk of each
    wanted id that is not a member yet."""
    new = [key for key in wanted if key not in current]
    kept, to_remove, relabelled = [], [], {}
    for key, (user_id, display) in current.items():
        wanted_display = wanted.get(key)
        if wanted_display is None:
            to_remove.append(user_id)
            continue
        kept.append((key, wanted_display))
        if wanted_display != display:
            relabelled[user_id] = wanted_display
    if to_remove:
        GroupMembership.objects.remove_members(group, to_remove)
    if new:
        GroupMembership.objects.add_missing(group, {found[key]: (key, wanted[key]) for key in new})
    if relabelled:
        rows = list(group.memberships.filter(user_id__in=relabelled))
        for row in rows:
            row.display = relabelled[row.user_id]
        GroupMembership.objects.bulk_update(rows, ["display"], batch_size=5000)
    members = kept + [(key, wanted[key]) for key in new]
    return MembershipChange(added=len(new), removed=len(to_remove), members=members)


@transaction.atomic(savepoint=False)
def group_members_edit(*, group: Group, edits: list[MemberEdit]) -> MembershipChange:
    """Apply ``edits`` in their order as one net change to the group's members. Lock held.

    The edits fold in memory into one wanted state per member (added then removed: removed; a
    replace or a remove of all starts over), every id they name is looked up in one query, and
    the change is one delete and one insert however many edits there were: a PATCH of 15,000
    alternating adds and removes used to make 15,000 round trips of each. Adding a member
    twice is not an error, nor is removing a user of this account that is not a member (the
    outcome asked for holds); an id that is not a user of this account is, wherever it appears,
    and nothing is written.
    """
    reset = False
    net: dict[str, str | None] = {}  # SCIM id -> display to be a member with, or None: not one
    added_ids: set[str] = set()
    removed_ids: set[str] = set()
    spelled: dict[str, str] = {}
    bad: list[str] = []
    for edit in edits:
        if edit.kind not in ("add", "remove", "replace"):
            raise ValueError(f"Unknown member edit {edit.kind!r}")
        if edit.kind == "replace" or edit.members is None:
            reset = True
            net.clear()
            if edit.members is None:
                continue
        wanted, sent_as, malformed = _parse_members(edit.members)
        spelled.update(sent_as)
        bad.extend(malformed)
        removing = edit.kind == "remove"
        (removed_ids if removing else added_ids).update(wanted)
        for key, display in wanted.items():
            net.pop(key, None)  # a member added again goes to the end, as it would one by one
            net[key] = None if removing else display
    current = group_members_by_scim_id(group.pk) if reset else {}
    found = user_pks_by_scim_id(
        group.account_id,
        [key for key in added_ids | removed_ids if key not in current],
        include_deleted=False,
    )
    bad.extend(spelled.get(key, key) for key in added_ids if key not in current and key not in found)
    gone = [key for key in removed_ids if key not in current and key not in found]
    if gone:  # deleted users may be removed: they are members of nothing
        deleted = user_pks_by_scim_id(group.account_id, gone, include_deleted=True)
        bad.extend(spelled.get(key, key) for key in gone if key not in deleted)
    if bad:
        raise _not_users(bad)
    if reset:
        wanted = {key: display for key, display in net.items() if display is not None}
        change = _make_membership(group, current, wanted, found)
    else:
        removed = GroupMembership.objects.remove_members(
            group, [found[key] for key, display in net.items() if display is None and key in found]
        )
        added = GroupMembership.objects.add_missing(
            group, {found[key]: (key, display) for key, display in net.items() if display is not None}
        )
        change = MembershipChange(added=added, removed=removed)
    if change.added or change.removed:
        group.touch()
    return change


def group_members_add(*, group: Group, members: list) -> MembershipChange:
    """Add members, keeping the existing ones (adding a member twice is not an error)."""
    return group_members_edit(group=group, edits=[MemberEdit("add", members)])


def group_members_remove(*, group: Group, members: list | None) -> MembershipChange:
    """Remove the given members (all of them when ``members`` is None). Lock held."""
    return group_members_edit(group=group, edits=[MemberEdit("remove", members)])


@transaction.atomic(savepoint=False)
def group_delete(*, group: Group) -> None:
    group.delete()
