"""Queries per SCIM request are constant in the number of rows."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from directory.models import Agent, DirectoryUser, Group, GroupMembership, UserEmail

LOOKUP = 2  # the key with its rate-limit count (one statement), and its throttled last-used write
PAGE_USERS = LOOKUP + 3  # count, page, and the emails and groups together
PAGE_GROUPS = LOOKUP + 3  # count, page, members


def make_users(account, count: int, start: int = 0) -> list[DirectoryUser]:
    users = DirectoryUser.objects.bulk_create(
        DirectoryUser(account=account, user_name=f"user{i}@acme.example", given_name="U", family_name=str(i))
        for i in range(start, start + count)
    )
    UserEmail.objects.bulk_create(
        UserEmail(user=u, account=account, value=u.user_name, type="work", is_primary=True) for u in users
    )
    return users


def make_groups(account, users, count: int) -> list[Group]:
    groups = Group.objects.bulk_create(Group(account=account, display_name=f"Group {i}") for i in range(count))
    GroupMembership.objects.bulk_create(GroupMembership(group=g, user=u, user_scim_id=u.scim_id) for g in groups for u in users)
    return groups


@pytest.mark.parametrize("size", [3, 60])
def test_user_list_and_filter_queries_do_not_grow_with_rows(acme, acme_key, scim_client, django_assert_max_num_queries, size):
    users = make_users(acme, size)
    make_groups(acme, users[:5], 3)

    with django_assert_max_num_queries(PAGE_USERS):
        page = scim_client("GET", "/Users?startIndex=1&count=100")
    with django_assert_max_num_queries(PAGE_USERS):
        filtered = scim_client("GET", '/Users?filter=userName sw "user" and emails.value co "acme"&count=50')
    with django_assert_max_num_queries(PAGE_USERS):
        lookup = scim_client("GET", '/Users?filter=userName eq "USER1@acme.example"&startIndex=1&count=100')

    assert page.json()["itemsPerPage"] == size
    assert filtered.json()["totalResults"] == size
    assert lookup.json()["totalResults"] == 1


@pytest.mark.parametrize("size", [2, 40])
def test_group_list_and_get_queries_do_not_grow_with_members(acme, acme_key, scim_client, django_assert_max_num_queries, size):
    users = make_users(acme, size)
    groups = make_groups(acme, users, 5)

    with django_assert_max_num_queries(PAGE_GROUPS):
        page = scim_client("GET", "/Groups?startIndex=1&count=100")
    with django_assert_max_num_queries(PAGE_GROUPS):
        by_name = scim_client("GET", '/Groups?filter=displayName eq "group 3"')
    with django_assert_max_num_queries(LOOKUP + 2):
        one = scim_client("GET", f"/Groups/{groups[0].scim_id}")
    with django_assert_max_num_queries(LOOKUP + 1):
        bare = scim_client("GET", f"/Groups/{groups[0].scim_id}?excludedAttributes=members")

    assert page.json()["totalResults"] == 5
    assert len(page.json()["Resources"][0]["members"]) == size
    assert by_name.json()["totalResults"] == 1
    assert len(one.json()["members"]) == size and "members" not in bare.json()


@pytest.mark.parametrize("size", [2, 50])
def test_group_member_patch_and_put_queries_do_not_grow_with_members(acme, acme_key, scim_client, django_assert_max_num_queries, size):
    users = make_users(acme, size + 10)
    group = make_groups(acme, users[:size], 1)[0]
    newcomers = [{"value": str(u.scim_id)} for u in users[size:]]
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "add", "path": "members", "value": newcomers},
            {"op": "remove", "path": f'members[value eq "{users[0].scim_id}"]'},
        ],
    }
    everyone_but_one = [{"value": str(u.scim_id)} for u in users[1:]]

    # Counted inside the test's transaction, so each includes the view's savepoint pair.
    with django_assert_max_num_queries(16):
        patched = scim_client("PATCH", f"/Groups/{group.scim_id}", json.dumps(patch))
    with django_assert_max_num_queries(9):
        put = scim_client("PUT", f"/Groups/{group.scim_id}", json.dumps({"displayName": "Group 0", "members": everyone_but_one[:-1]}))

    assert patched.status_code == 200 and len(patched.json()["members"]) == size + 9
    assert put.status_code == 200 and len(put.json()["members"]) == size + 8


def test_user_writes_use_a_fixed_number_of_queries(
    transactional_db, acme, acme_key, scim_client, django_assert_max_num_queries
):
    make_users(acme, 30)
    body = {"userName": "new@acme.example", "name": {"givenName": "N", "familyName": "U"}, "emails": [{"value": "new@acme.example", "primary": True}]}

    # Outside a transaction, as a request runs: a create is one statement (the user, its
    # address, agent matching and the event).
    with django_assert_max_num_queries(LOOKUP + 1):
        created = scim_client("POST", "/Users", json.dumps(body))
    user_id = created.json()["id"]
    # A change of the user's own columns: the user with its addresses and groups, and one
    # UPDATE (with the event) at the version read, no lock or transaction.
    with django_assert_max_num_queries(LOOKUP + 2):
        patched = scim_client("PATCH", f"/Users/{user_id}", json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": False}}]}))
    with django_assert_max_num_queries(LOOKUP + 2):
        put = scim_client("PUT", f"/Users/{user_id}", json.dumps({**body, "title": "Lead", "active": False}))

    with django_assert_max_num_queries(LOOKUP + 1):  # the user with its addresses and groups
        got = scim_client("GET", f"/Users/{user_id}")

    assert got.status_code == 200 and got.json()["emails"] == [{"value": "new@acme.example", "primary": True}]
    assert got.json()["groups"] == []
    assert created.status_code == 201 and patched.json()["active"] is False
    assert put.status_code == 200 and put.json()["title"] == "Lead"
    assert put.json()["emails"] == [{"value": "new@acme.example", "primary": True}]


def test_a_deactivation_that_flags_agents_reads_the_user_once(
    transactional_db, acme, acme_key, scim_client, django_assert_max_num_queries
):
    """Not a plain update (the user's agents follow it): the row is locked at the version read,
    not read again under the lock."""
    body = {"userName": "agents@acme.example", "emails": [{"value": "agents@acme.example", "primary": True}]}
    user_id = scim_client("POST", "/Users", json.dumps(body)).json()["id"]
    user = DirectoryUser.objects.get(scim_id=user_id)
    agent = Agent.objects.create(account=acme, user=user, logon_name="agents@acme.example",
                                 logon_user="agents", logon_domain="acme.example", machine_name="pc-1")

    # the user with its version; BEGIN, its lock at that version, the UPDATE, the agents' flag,
    # the event, COMMIT
    with django_assert_max_num_queries(LOOKUP + 6):
        patched = scim_client("PATCH", f"/Users/{user_id}", json.dumps({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}]}))

    assert patched.status_code == 200 and patched.json()["active"] is False
    agent.refresh_from_db()
    assert agent.is_uninstall_required


def test_scim_writes_set_no_savepoints(transactional_db, acme, acme_key, scim_client):
    """Each savepoint and its release are two round trips; a SCIM write is all or nothing."""
    users = make_users(acme, 3)
    group = make_groups(acme, users[:1], 1)[0]
    body = {"userName": "new@acme.example", "name": {"givenName": "N", "familyName": "U"}, "emails": [{"value": "new@acme.example", "primary": True}]}
    deactivate = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": False}}]}
    add = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": str(users[1].scim_id)}]}]}
    sent: list[str] = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        created = scim_client("POST", "/Users", json.dumps(body))
        user_id = created.json()["id"]
        patched = scim_client("PATCH", f"/Users/{user_id}", json.dumps(deactivate))
        put = scim_client("PUT", f"/Users/{user_id}", json.dumps({**body, "title": "Lead"}))
        grown = scim_client("PATCH", f"/Groups/{group.scim_id}", json.dumps(add))
        replaced = scim_client("PUT", f"/Groups/{group.scim_id}", json.dumps({"displayName": "Renamed", "members": [{"value": str(users[2].scim_id)}]}))
        deleted = scim_client("DELETE", f"/Users/{user_id}")

    assert [r.status_code for r in (created, patched, put, grown, replaced, deleted)] == [201, 200, 200, 200, 200, 204]
    assert sent and not [sql for sql in sent if "SAVEPOINT" in sql.upper()]
    assert [m["value"] for m in replaced.json()["members"]] == [str(users[2].scim_id)]


def test_a_group_patch_of_100_members_takes_the_same_queries_however_many_operations(acme, acme_key, scim_client, django_assert_max_num_queries):
    """One lookup, one delete and one insert per PATCH: Okta's one add of 100 members, Entra's
    100 single-member adds, and 300 alternating adds and removes cost the same."""
    users = make_users(acme, 200)
    groups = make_groups(acme, users[100:110], 3)
    shapes = [
        [{"op": "add", "path": "members", "value": [{"value": str(u.scim_id)} for u in users[:100]]}],
        [{"op": "add", "path": "members", "value": [{"value": str(u.scim_id)}]} for u in users[:100]],
        [
            op
            for u in users[:100]
            for op in (
                {"op": "add", "path": "members", "value": [{"value": str(u.scim_id)}]},
                {"op": "remove", "path": f'members[value eq "{u.scim_id}"]'},
                {"op": "add", "path": "members", "value": [{"value": str(u.scim_id)}]},
            )
        ],
    ]
    scim_client("GET", "/Groups?count=1")  # the key's throttled last-used write happens here
    counts = []
    for group, operations in zip(groups, shapes, strict=True):
        body = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
        # Counted inside the test's transaction, so each includes the view's savepoint pair.
        with django_assert_max_num_queries(11) as captured:
            patched = scim_client("PATCH", f"/Groups/{group.scim_id}", body)
        counts.append(len(captured))
        assert patched.status_code == 200 and len(patched.json()["members"]) == 110

    assert len(set(counts)) == 1, counts


def test_oktas_lookup_of_a_new_user_name_counts_nothing(acme, acme_key, scim_client, django_assert_num_queries):
    """Okta looks up every userName before creating it, and almost always finds nothing: an
    empty first page says the total is 0 without a COUNT."""
    make_users(acme, 3)
    scim_client("GET", "/Users?count=1")  # notes the key's use, which is written at most once a while

    with django_assert_num_queries(2):  # the key with its rate-limit count, the page
        lookup = scim_client("GET", '/Users?filter=userName eq "new@acme.example"&startIndex=1&count=100')
    past_the_rows = scim_client("GET", '/Users?filter=userName sw "user"&startIndex=10&count=2')

    assert lookup.json()["totalResults"] == 0 and lookup.json()["Resources"] == []
    # An empty page after the first still counts: the rows may all lie before it.
    assert past_the_rows.json()["totalResults"] == 3 and past_the_rows.json()["Resources"] == []


def test_deactivating_a_user_touches_agents_only_when_it_has_some(acme, acme_key, scim_client):
    """The user's agent count, read under its row lock, says whether there is anything to flag."""
    from directory.models import Agent

    lonely, with_agent = make_users(acme, 2)
    agent = Agent.objects.create(account=acme, user=with_agent, logon_name="ACME\\u1", machine_name="pc")
    deactivate = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                             "Operations": [{"op": "replace", "value": {"active": False}}]})
    sent: dict[str, list[str]] = {}
    for user in (lonely, with_agent):
        statements = sent.setdefault(user.user_name, [])
        with connection.execute_wrapper(lambda execute, sql, *rest, into=statements: into.append(sql) or execute(sql, *rest)):
            assert scim_client("PATCH", f"/Users/{user.scim_id}", deactivate).json()["active"] is False

    assert not [sql for sql in sent[lonely.user_name] if "directory_agent" in sql]
    assert [sql for sql in sent[with_agent.user_name] if "UPDATE directory_agent" in sql]
    agent.refresh_from_db()
    assert agent.is_uninstall_required is True
