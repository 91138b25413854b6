"""Each hand-written statement in directory/sql/ gives the plain ORM's answer on the same data."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone

from directory import sql
from directory.agent_services import split_logon
from directory.models import (
    AccountDomain,
    Agent,
    DirectoryUser,
    Group,
    GroupMembership,
    LiveUserTally,
    UserEmail,
)
from integrations.keys import parse_key
from integrations.models import ApiKey, ProvisioningEvent


@pytest.fixture
def directory(acme, globex):
    """Two accounts with users, addresses (some users several, some none), groups and
    memberships made in an order that differs from the ids', and a tombstoned user."""
    users = {}
    for account in (acme, globex):
        made = DirectoryUser.objects.bulk_create(
            DirectoryUser(account=account, user_name=f"u{i}@{account.slug}.example") for i in range(8)
        )
        users[account.slug] = made
        UserEmail.objects.bulk_create(
            UserEmail(user=u, account=account, value=f"{kind}.{u.user_name}", type=kind,
                      is_primary=kind == "work", display=kind.title())
            for u in made[:6]
            for kind in (["home", "work"] if u.pk % 2 else ["work"])
        )
        groups = Group.objects.bulk_create(
            Group(account=account, display_name=f"{account.slug} {name}") for name in ("a", "b", "c")
        )
        for index, group in enumerate(groups):
            members = list(reversed(made)) if index == 1 else made[index:]
            GroupMembership.objects.bulk_create(
                GroupMembership(group=group, user=u, user_scim_id=u.scim_id, display=f"{u.user_name}!")
                for u in members
            )
    gone = users["acme"][7]
    gone.deleted_at = timezone.now()
    gone.save(update_fields=["deleted_at"])
    return users


def acme_groups(acme) -> list[Group]:
    return list(Group.objects.for_account(acme).order_by("id"))


def test_user_page_values(acme, directory):
    ids = [u.pk for u in directory["acme"]]
    emails, groups = sql.user_page_values(ids)
    expected_emails = {}
    for row in UserEmail.objects.filter(user_id__in=ids).order_by("user_id", "id"):
        expected_emails.setdefault(row.user_id, []).append(
            (row.value, row.type, row.display, row.is_primary)
        )
    expected_groups = {}
    for m in GroupMembership.objects.filter(user_id__in=ids).select_related("group").order_by("user_id", "id"):
        expected_groups.setdefault(m.user_id, []).append((str(m.group.scim_id), m.group.display_name))
    assert dict(emails) == expected_emails and expected_emails
    assert dict(groups) == expected_groups and expected_groups
    assert dict(sql.user_email_values(ids[:1])) == {ids[0]: expected_emails[ids[0]]}
    assert dict(sql.user_group_values(ids[-1:])) == {ids[-1]: expected_groups[ids[-1]]}


def test_group_member_values_and_members_by_scim_id(acme, directory):
    groups = acme_groups(acme)
    expected = {
        g.pk: [
            (str(m.user_scim_id), m.display)
            for m in GroupMembership.objects.filter(group=g).order_by("id")
        ]
        for g in groups
    }
    assert dict(sql.group_member_values([g.pk for g in groups])) == expected
    assert dict(sql.group_member_values([groups[1].pk])) == {groups[1].pk: expected[groups[1].pk]}
    by_scim_id = sql.group_members_by_scim_id(groups[1].pk)
    assert list(by_scim_id.items()) == [
        (str(m.user_scim_id), (m.user_id, m.display))
        for m in GroupMembership.objects.filter(group=groups[1]).order_by("id")
    ]


@pytest.mark.parametrize("include_deleted", [False, True])
def test_user_pks_by_scim_id(acme, globex, directory, include_deleted):
    wanted = [str(u.scim_id) for u in directory["acme"] + directory["globex"][:2]]
    orm = DirectoryUser.objects.filter(account=acme, scim_id__in=wanted)
    if not include_deleted:
        orm = orm.filter(deleted_at__isnull=True)
    expected = {str(scim_id): pk for scim_id, pk in orm.values_list("scim_id", "pk")}
    assert sql.user_pks_by_scim_id(acme.pk, wanted, include_deleted=include_deleted) == expected
    assert len(expected) == (8 if include_deleted else 7)


def test_memberships_delete(acme, directory):
    hand, orm = acme_groups(acme)[:2]  # both hold every acme user
    leaving = [u.pk for u in directory["acme"][2:5]] + [directory["globex"][0].pk]
    removed_by_orm, _ = GroupMembership.objects.filter(group=orm, user_id__in=leaving).delete()
    assert sql.memberships_delete(hand.pk, leaving) == removed_by_orm == 3
    assert sql.memberships_delete(hand.pk, [leaving[0]]) == 0
    remaining = lambda g: set(GroupMembership.objects.filter(group=g).values_list("user_id", flat=True))  # noqa: E731
    assert remaining(hand) == remaining(orm)


def test_memberships_insert_missing(acme, directory):
    hand, orm = acme_groups(acme)[2], Group.objects.create(account=acme, display_name="twin")
    GroupMembership.objects.bulk_create(
        GroupMembership(group=orm, user=u, user_scim_id=u.scim_id, display=f"{u.user_name}!")
        for u in directory["acme"][2:]
    )
    newcomers = list(reversed(directory["acme"][:4]))  # two already members
    members = {u.pk: (str(u.scim_id), "new") for u in newcomers}
    before = GroupMembership.objects.filter(group=orm).count()
    GroupMembership.objects.bulk_create(
        [GroupMembership(group=orm, user=u, user_scim_id=u.scim_id, display="new") for u in newcomers],
        ignore_conflicts=True,
    )
    added_by_orm = GroupMembership.objects.filter(group=orm).count() - before
    assert sql.memberships_insert_missing(hand.pk, members) == added_by_orm == 2

    def rows(group):
        return list(
            GroupMembership.objects.filter(group=group).order_by("id").values_list("user_id", "user_scim_id", "display")
        )

    assert rows(hand) == rows(orm)


def test_tally_sum_and_fold(acme, globex, directory):
    def counted(account):
        return DirectoryUser.objects.filter(account=account, deleted_at__isnull=True).count()

    total, rows = sql.tally_sum(acme.pk)
    summed = LiveUserTally.objects.filter(account_id=acme.pk).aggregate(total=Sum("delta"))["total"]
    assert total == summed == counted(acme) == 7
    assert rows == LiveUserTally.objects.filter(account_id=acme.pk).count() > 1
    sql.tally_fold(acme.pk)
    assert sql.tally_sum(acme.pk) == (counted(acme), 1)
    assert sql.tally_sum(globex.pk)[0] == counted(globex) == 8


def test_in_id_order(acme, directory):
    scoped = DirectoryUser.objects.for_account(acme)
    for ids in (
        scoped.order_by("id").values("pk")[2:6],
        scoped.order_by("-id").values("pk")[:3],
        scoped.filter(user_name__uexact="U3@ACME.example").order_by("id").values("pk")[:100],
        scoped.filter(pk__in=[]).values("pk"),
    ):
        expected = list(DirectoryUser.objects.filter(pk__in=ids).order_by("id"))
        found = sql.in_id_order(ids)
        assert [u.pk for u in found] == [u.pk for u in expected]
        assert [
            {f.attname: getattr(u, f.attname) for f in DirectoryUser._meta.concrete_fields} for u in found
        ] == [{f.attname: getattr(u, f.attname) for f in DirectoryUser._meta.concrete_fields} for u in expected]


def test_api_keys_with_owners(acme_key, globex_key):
    lookup = parse_key(acme_key).lookup
    [found] = sql.api_keys_with_owners(lookup)
    [expected] = ApiKey.objects.filter(lookup=lookup).select_related("instance__account")
    for mine, theirs in (
        (found, expected),
        (found.instance, expected.instance),
        (found.instance.account, expected.instance.account),
    ):
        assert type(mine) is type(theirs)
        assert {f.attname: getattr(mine, f.attname) for f in type(mine)._meta.concrete_fields} == {
            f.attname: getattr(theirs, f.attname) for f in type(theirs)._meta.concrete_fields
        }
    assert sql.api_keys_with_owners("nomatch0") == []



@pytest.mark.parametrize("async_commit", [False, True])
def test_api_keys_with_owners_counted_is_the_lookup_plus_one_counted_hit(acme_key, globex_key, async_commit):
    """The same keys as :func:`sql.api_keys_with_owners`, and the matching key's counter moved
    exactly as ``sql.counter_hit`` moves it; a presented key that matches nothing counts nothing."""
    from integrations.keys import digests_in_use
    from integrations.models import RequestCounter

    lookup = parse_key(acme_key).lookup
    [expected] = sql.api_keys_with_owners(lookup)
    scope = f"key:{expected.pk}"
    counted = []
    for _ in range(3):
        found, hits = sql.api_keys_with_owners_counted(
            lookup, digests_in_use(acme_key), 7, async_commit=async_commit
        )
        counted.append(hits)
        assert [k.pk for k in found] == [expected.pk]
        assert found[0].instance.account.pk == expected.instance.account.pk
    assert counted == [1, 2, 3]
    assert sql.counter_hit(scope, 7, async_commit=async_commit) == 4
    assert sql.counter_hit(scope, 8, async_commit=async_commit) == 1  # a new window starts over
    assert sql.api_keys_with_owners_counted(lookup, digests_in_use(acme_key), 8, async_commit=async_commit)[1] == 2

    wrong = acme_key[:-1] + ("A" if acme_key[-1] != "A" else "B")
    found, hits = sql.api_keys_with_owners_counted(lookup, digests_in_use(wrong), 8, async_commit=async_commit)
    assert [k.pk for k in found] == [expected.pk] and hits is None
    assert RequestCounter.objects.get(scope=scope).hits == 2

def test_estimated_row_count(acme, directory):
    table = DirectoryUser._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
    assert sql.estimated_row_count(table) == DirectoryUser.objects.count() == 16


@pytest.mark.parametrize("except_own", [False, True])
def test_user_name_taken(acme, globex, directory, except_own):
    users = directory["acme"]
    asked = [u.user_name.upper() for u in users] + ["u1@globex.example", "nobody@acme.example"]
    for user_name in asked:
        own = users[1] if except_own else None
        orm = DirectoryUser.objects.filter(
            account=acme, deleted_at__isnull=True, user_name__uexact=user_name
        ).exclude(pk=own.pk if own else None).exists()
        assert sql.user_name_taken(acme.pk, user_name, except_id=own.pk if own else None) == orm, user_name
    assert sql.user_name_taken(acme.pk, users[0].user_name.lower()) is True
    assert sql.user_name_taken(acme.pk, users[7].user_name) is False  # tombstoned


def agents_matching(*, account_id: int, names: set[str]):
    """The agents ``sql.agents_attach`` should attach, as the ORM query it replaced."""
    condition = Q()
    for name in names:
        condition |= Q(logon_name__uexact=name)
        local, _, domain = name.rpartition("@")
        if local and domain:
            mapped = AccountDomain.objects.filter(
                account_id=account_id,
                email_domain__uexact=domain,
                netbios_name__uexact=OuterRef("logon_domain"),
            )
            condition |= Q(logon_user__uexact=local) & Exists(mapped)
    return Agent.objects.filter(
        account_id=account_id, user__isnull=True, is_manually_assigned=False
    ).filter(condition)


def test_agents_attach(acme, globex, directory):
    user, other = directory["acme"][0], directory["acme"][1]
    for account in (acme, globex):
        AccountDomain.objects.create(account=account, netbios_name="ACME", email_domain="acme.example")

    def agent(account, logon, **fields):
        logon_user, logon_domain = split_logon(logon)
        return Agent.objects.create(
            account=account, logon_name=logon, logon_user=logon_user, logon_domain=logon_domain,
            machine_name=f"pc-{Agent.objects.count()}", **fields,
        )

    by_name = agent(acme, "TYLER@acme.example")
    by_mapped_domain = agent(acme, "acme\\Tyler")
    left = [
        agent(acme, "OTHER\\tyler"),  # a domain the account does not map
        agent(acme, "tyler@acme.example", is_manually_assigned=True),
        agent(acme, "someone@acme.example"),
        agent(acme, "ACME\\tyler", user=other),  # already someone's
        agent(globex, "tyler@acme.example"),
        agent(globex, "ACME\\tyler"),
    ]
    names = {"tyler@acme.example", "t.y@elsewhere.example"}
    expected = set(agents_matching(account_id=acme.pk, names=names).values_list("pk", flat=True))

    attached = sql.agents_attach(acme.pk, user.pk, sorted(names), uninstall=True)

    assert expected == {by_name.pk, by_mapped_domain.pk}
    assert attached == 2
    assert set(Agent.objects.filter(user=user).values_list("pk", flat=True)) == expected
    assert all(a.is_uninstall_required for a in Agent.objects.filter(pk__in=expected))
    assert [Agent.objects.get(pk=a.pk).user_id for a in left] == [a.user_id for a in left]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement on PostgreSQL only")
def test_user_create_writes_what_the_orm_would(acme, globex, directory):
    """The user with every field, its addresses in order, the agents the ORM query matches
    (their counts kept by the triggers) and the event: as ``save()``, ``bulk_create`` and the
    agents' UPDATE would write them; nothing when the userName is taken."""
    for account in (acme, globex):
        AccountDomain.objects.create(account=account, netbios_name="ACME", email_domain="acme.example")
    by_name = Agent.objects.create(account=acme, logon_name="TYLER@acme.example", logon_user="TYLER",
                                   logon_domain="acme.example", machine_name="pc-1")
    by_domain = Agent.objects.create(account=acme, logon_name="acme\\Tyler", logon_user="Tyler",
                                     logon_domain="acme", machine_name="pc-2")
    elsewhere = Agent.objects.create(account=globex, logon_name="tyler@acme.example", logon_user="tyler",
                                     logon_domain="acme.example", machine_name="pc-3")
    someone = directory["acme"][1]
    left = [
        Agent.objects.create(account=acme, logon_name="OTHER\\tyler", logon_user="tyler",
                             logon_domain="OTHER", machine_name="pc-4"),  # a domain not mapped
        Agent.objects.create(account=acme, logon_name="tyler@acme.example", logon_user="tyler",
                             logon_domain="acme.example", machine_name="pc-5", is_manually_assigned=True),
        Agent.objects.create(account=acme, logon_name="ACME\\tyler", logon_user="tyler",
                             logon_domain="ACME", machine_name="pc-6", user=someone),
    ]
    names = {"tyler@acme.example", "t.y@elsewhere.example"}
    expected_agents = set(agents_matching(account_id=acme.pk, names=names).values_list("pk", flat=True))
    user = DirectoryUser(account=acme, user_name="tyler@acme.example", given_name="Tyler",
                         title="Lead", enterprise={"department": "Ops"}, email="t.y@elsewhere.example",
                         last_modified_at=timezone.now())
    emails = [("t.y@elsewhere.example", "home", "Home", False), ("tyler@acme.example", "work", "", True)]
    event = ProvisioningEvent(account=acme, instance=None, action="user.create", status_code=201,
                              target_type="User", target_id=str(user.scim_id), outcome="success")

    user_id = sql.user_create(user, emails, [event])

    saved = DirectoryUser.objects.get(pk=user_id)
    assert (saved.scim_id, saved.user_name, saved.title, saved.enterprise, saved.is_active) == (
        user.scim_id, "tyler@acme.example", "Lead", {"department": "Ops"}, True)
    assert list(saved.email_rows.order_by("id").values_list("value", "type", "display", "is_primary")) == emails
    assert expected_agents == {by_name.pk, by_domain.pk}
    assert set(Agent.objects.filter(user_id=user_id).values_list("pk", flat=True)) == expected_agents
    assert not Agent.objects.filter(pk__in=expected_agents, is_uninstall_required=True).exists()
    assert saved.agent_count == 2 and Agent.objects.get(pk=elsewhere.pk).user_id is None
    assert [Agent.objects.get(pk=a.pk).user_id for a in left] == [None, None, someone.pk]
    assert list(ProvisioningEvent.objects.filter(target_id=str(user.scim_id)).values_list("action", "account_id")) == [
        ("user.create", acme.pk)]

    clash = DirectoryUser(account=acme, user_name="TYLER@ACME.EXAMPLE", last_modified_at=timezone.now())
    again = ProvisioningEvent(account=acme, instance=None, action="user.create", status_code=201,
                              target_id=str(clash.scim_id), outcome="success")
    assert sql.user_create(clash, [("x@acme.example", "work", "", True)], [again]) is None
    assert not DirectoryUser.objects.filter(scim_id=clash.scim_id).exists()
    assert not UserEmail.objects.filter(value="x@acme.example").exists()
    assert not ProvisioningEvent.objects.filter(target_id=str(clash.scim_id)).exists()
    # A tombstone's name is free, and another account's users are no clash.
    tombstoned = DirectoryUser(account=acme, user_name=directory["acme"][7].user_name, last_modified_at=timezone.now())
    assert sql.user_create(tombstoned, []) is not None
    assert sql.user_create(DirectoryUser(account=globex, user_name="tyler@acme.example",
                                         last_modified_at=timezone.now()), []) is not None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row versions on PostgreSQL only")
def test_user_lock_at_version_locks_only_the_version_read(transactional_db, acme, directory):
    """As ``select_for_update().filter(pk=...)`` would find the row, while it is the version
    ``user_resource`` read; not once another write changed it."""
    user = directory["acme"][3]
    _, _, _, version = sql.user_resource(acme.pk, user.scim_id)
    with transaction.atomic():
        assert sql.user_lock_at_version(user.pk, version) is True
        assert DirectoryUser.objects.select_for_update().filter(pk=user.pk).exists()
    DirectoryUser.objects.filter(pk=user.pk).update(title="Changed")
    with transaction.atomic():
        assert sql.user_lock_at_version(user.pk, version) is False
        assert sql.user_lock_at_version(user.pk, sql.user_resource(acme.pk, user.scim_id)[3]) is True


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement on PostgreSQL only")
def test_user_resource_is_scim_resource_with_its_page_values(acme, globex, directory):
    """The user ``scim_resource`` finds, with the addresses and groups ``user_page_values``
    gives it (each compared with the ORM in its own test); nothing for another account's
    user, a tombstone or an unknown id."""
    for user in directory["acme"][:7]:
        found, emails, groups, version = sql.user_resource(acme.pk, user.scim_id)
        expected = sql.scim_resource(DirectoryUser, acme.pk, user.scim_id)
        page_emails, page_groups = sql.user_page_values([user.pk])
        assert [getattr(found, f.attname) for f in DirectoryUser._meta.concrete_fields] == [
            getattr(expected, f.attname) for f in DirectoryUser._meta.concrete_fields]
        assert (emails, groups) == (page_emails[user.pk], page_groups[user.pk])
        assert version
    assert any(len(sql.user_resource(acme.pk, u.scim_id)[1]) == 2 for u in directory["acme"])
    for scim_id in (directory["acme"][7].scim_id, directory["globex"][2].scim_id, uuid.uuid4()):
        assert sql.user_resource(acme.pk, scim_id) == (None, [], [], "")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row versions on PostgreSQL only")
def test_user_update_at_version_writes_what_row_update_would_only_at_that_version(
    transactional_db, acme, directory
):
    # Each statement commits on its own, as in a request: a row version's xmin is its writer's.
    user = directory["acme"][2]
    found, _, _, version = sql.user_resource(acme.pk, user.scim_id)
    assert found.pk == user.pk and version
    twin = DirectoryUser.objects.get(pk=user.pk)
    now = timezone.now()
    for copy in (found, twin):
        copy.title, copy.is_active, copy.last_modified_at = "Lead", False, now
    event = ProvisioningEvent(account=acme, instance=None, action="user.deactivate", status_code=200,
                              target_id=str(user.scim_id), outcome="success")

    assert sql.user_update_at_version(found, version, [event]) is True

    saved = DirectoryUser.objects.get(pk=user.pk)
    twin.save(update_fields=DirectoryUser.written_fields())
    assert [getattr(saved, f) for f in DirectoryUser.written_fields()] == [
        getattr(DirectoryUser.objects.get(pk=user.pk), f) for f in DirectoryUser.written_fields()]
    assert (saved.title, saved.is_active) == ("Lead", False)
    assert ProvisioningEvent.objects.filter(target_id=str(user.scim_id)).count() == 1
    # The row changed since ``version`` was read: nothing is written, no event either.
    found.title = "Stale"
    late = ProvisioningEvent(account=acme, instance=None, action="user.update", status_code=200,
                             target_id=str(user.scim_id), outcome="success")
    assert sql.user_update_at_version(found, version, [late]) is False
    assert DirectoryUser.objects.get(pk=user.pk).title == "Lead"
    assert ProvisioningEvent.objects.filter(target_id=str(user.scim_id)).count() == 1


@pytest.mark.parametrize("lock", [False, True])
def test_scim_resource_is_for_accounts_get(acme, globex, directory, lock):
    """Found exactly where ``for_account(account).get(scim_id=...)`` finds it, with the same
    field values: another account's ids and a deleted user are not found."""
    candidates = [
        *((DirectoryUser, u.scim_id) for slug in ("acme", "globex") for u in directory[slug]),
        *((Group, g.scim_id) for g in Group.objects.all()),
        (DirectoryUser, uuid.uuid4()),
    ]
    found = 0
    for model, scim_id in candidates:
        try:
            expected = model.objects.for_account(acme).get(scim_id=scim_id)
        except model.DoesNotExist:
            expected = None
        row = sql.scim_resource(model, acme.pk, scim_id, lock=lock)
        if expected is None:
            assert row is None, (model, scim_id)
            continue
        found += 1
        fields = [f.attname for f in model._meta.concrete_fields]
        assert [getattr(row, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert found == 7 + 3  # acme's live users and its groups


def _columns_of(obj) -> dict:
    """The row as the database holds it (read back through the ORM), without its id."""
    model = type(obj)
    row = model.objects.filter(pk=obj.pk).values(*(f.attname for f in model._meta.concrete_fields)).get()
    row.pop("id")
    return row


def test_row_insert_and_update_write_what_save_writes(acme):
    from integrations.models import ProvisioningEvent

    at = timezone.now()

    def user(name: str) -> DirectoryUser:
        return DirectoryUser(
            account=acme, user_name=name, given_name="Ada", family_name="Lovelace",
            external_id="x-1", title="Analyst", is_active=False, created_at=at, last_modified_at=at,
        )

    def event(target: str) -> ProvisioningEvent:
        return ProvisioningEvent(
            account=acme, action="user.create", target_type="User", target_id=target,
            target_display="ada", outcome="success", status_code=201, detail="NUL-free",
            client_ip="192.0.2.1", created_at=at,
        )

    for make in (user, event):
        by_orm, by_sql = make("orm@acme.example"), make("sql@acme.example")
        by_orm.save()
        sql.row_insert(by_sql)
        assert by_sql.pk and by_sql.pk != by_orm.pk and not by_sql._state.adding
        written, expected = _columns_of(by_sql), _columns_of(by_orm)
        for own in ("scim_id", "user_name", "target_id"):  # the values each was given
            expected.pop(own, None), written.pop(own, None)
        assert written == expected

    saved, written = user("a@acme.example"), user("b@acme.example")
    saved.save(), written.save()
    for changed in (saved, written):
        changed.title, changed.is_active, changed.nick_name = "Director", True, "Countess"
        changed.last_modified_at = timezone.now()
    saved.save()
    assert sql.row_update(written, DirectoryUser.written_fields()) == 1
    expected, got = _columns_of(saved), _columns_of(written)
    for differing in ("scim_id", "user_name", "last_modified_at", "created_at"):
        expected.pop(differing), got.pop(differing)
    assert got == expected


@pytest.mark.parametrize("required", [True, False])
def test_agents_flag_uninstall(acme, directory, required):
    user, other = directory["acme"][0], directory["acme"][1]
    for index, owner in enumerate([user, user, user, other]):
        Agent.objects.create(account=acme, user=owner, logon_name=f"l{index}", machine_name="pc",
                             is_uninstall_required=index == 0)
    expected = Agent.objects.filter(user=user).exclude(is_uninstall_required=required).count()

    assert sql.agents_flag_uninstall(user.pk, required=required) == expected
    assert set(Agent.objects.filter(user=user).values_list("is_uninstall_required", flat=True)) == {required}
    assert Agent.objects.get(user=other).is_uninstall_required is False


def test_user_emails_insert_and_replace(acme, directory):
    by_orm, by_sql = directory["acme"][6], directory["acme"][5]  # none and some addresses
    emails = [("b@x.example", "work", "B", True), ("a@x.example", "home", "", False)]
    UserEmail.objects.bulk_create(
        UserEmail(user=by_orm, account=acme, value=v, type=t, display=d, is_primary=p) for v, t, d, p in emails
    )

    sql.user_emails_replace(by_sql.pk, acme.pk, emails)
    sql.user_emails_insert(by_sql.pk, acme.pk, emails[:1])

    def rows(user):
        return list(UserEmail.objects.filter(user=user).order_by("id").values_list(
            "account_id", "value", "type", "display", "is_primary"))

    assert rows(by_sql) == rows(by_orm) + rows(by_orm)[:1]
    assert sql.user_email_values([by_sql.pk])[by_sql.pk] == [*emails, emails[0]]


@pytest.mark.parametrize(("model", "column", "lookup", "value"), [
    (DirectoryUser, "user_name", "uexact", "U1@ACME.example"),
    (DirectoryUser, "user_name", "uexact", "u7@acme.example"),  # tombstoned
    (DirectoryUser, "user_name", "uexact", "u1@globex.example"),  # another account's
    (DirectoryUser, "external_id", "exact", "shared"),
    (DirectoryUser, "external_id", "exact", "SHARED"),
    (Group, "display_name", "uexact", "ACME B"),
])
def test_scim_equal_and_its_count(acme, globex, directory, model, column, lookup, value):
    DirectoryUser.objects.filter(account=acme, pk__in=[u.pk for u in directory["acme"][2:6]]).update(external_id="shared")
    DirectoryUser.objects.filter(account=globex).update(external_id="shared")
    matching = model.objects.for_account(acme).filter(**{f"{column}__{lookup}": value}).order_by("id")
    ignore_case = lookup == "uexact"

    for offset, limit in [(0, 100), (0, 2), (1, 2), (3, 5), (9, 1)]:
        got = sql.scim_equal(model, acme.pk, column, value, ignore_case=ignore_case, offset=offset, limit=limit)
        assert [o.pk for o in got] == [o.pk for o in matching[offset : offset + limit]]
    assert sql.scim_equal_count(model, acme.pk, column, value, ignore_case=ignore_case) == matching.count()
