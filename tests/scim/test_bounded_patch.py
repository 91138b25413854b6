"""A PATCH's work is bounded: its operations are counted and checked before the target is read,
member operations become one net change written in one delete and one insert, and the request
records one event. Over real HTTP against a live server."""

from __future__ import annotations

import json
import time

import pytest

from directory.models import GroupMembership
from integrations.models import ProvisioningEvent
from tests.scim.test_query_counts import make_groups, make_users
from tests.scim_client import BODY_CONTENT_TYPE, PATCH_OP

# Answered in well under a second here; before the bound the same requests took 14 to 33 s.
FAST_SECONDS = 5


def send_patch(scim, path: str, operations: list[dict]) -> tuple[object, float]:
    """A PATCH with a compact body (the attacker's 1 MiB), and how long its answer took."""
    body = json.dumps({"schemas": [PATCH_OP], "Operations": operations}, separators=(",", ":"))
    started = time.monotonic()
    response = scim.request("PATCH", path, data=body, headers={"Content-Type": BODY_CONTENT_TYPE})
    return response, time.monotonic() - started


def add(user) -> dict:
    return {"op": "add", "path": "members", "value": [{"value": str(user.scim_id)}]}


def remove(user) -> dict:
    return {"op": "remove", "path": f'members[value eq "{user.scim_id}"]'}


def members_of(group) -> set[str]:
    return {str(i) for i in GroupMembership.objects.filter(group=group).values_list("user_scim_id", flat=True)}


def events_for(group) -> list[ProvisioningEvent]:
    return list(ProvisioningEvent.objects.filter(target_id=str(group.scim_id)).order_by("id"))


def test_a_mebibyte_of_alternating_member_operations_is_a_fast_400_naming_the_limit(scim, acme, settings):
    users = make_users(acme, 100)
    group = make_groups(acme, users[:10], 1)[0]
    operations = [add(users[i % 100]) if i % 2 == 0 else remove(users[(i - 1) % 100]) for i in range(12_000)]

    response, elapsed = send_patch(scim, f"/Groups/{group.scim_id}", operations)
    print(f"12,000 alternating member operations over the limit: {response.status_code} in {elapsed:.2f} s")

    assert len(json.dumps(operations, separators=(",", ":"))) > 1_000_000
    assert response.status_code == 400 and response.json()["scimType"] == "invalidValue"
    assert str(settings.SCIM_PATCH_MAX_OPERATIONS) in response.json()["detail"]
    assert elapsed < FAST_SECONDS
    assert members_of(group) == {str(u.scim_id) for u in users[:10]}
    assert [e.status_code for e in events_for(group)] == [400]


def test_under_a_raised_limit_the_same_patch_answers_fast_with_the_net_result_and_one_event(scim, acme, settings):
    settings.SCIM_PATCH_MAX_OPERATIONS = 20_000
    users = make_users(acme, 100)
    group = make_groups(acme, users[99:], 1)[0]  # one member before: ends removed
    operations = []
    for _ in range(60):
        for k, user in enumerate(users):
            # the first 50 end added (remove, then add), the other 50 end removed
            operations += [remove(user), add(user)] if k < 50 else [add(user), remove(user)]

    response, elapsed = send_patch(scim, f"/Groups/{group.scim_id}", operations)
    print(f"12,000 alternating member operations under a raised limit: {response.status_code} in {elapsed:.2f} s")

    assert len(operations) == 12_000
    assert response.status_code == 200, response.text
    assert elapsed < FAST_SECONDS
    assert {m["value"] for m in response.json()["members"]} == {str(u.scim_id) for u in users[:50]}
    assert members_of(group) == {str(u.scim_id) for u in users[:50]}
    [event] = events_for(group)
    assert (event.action, event.detail, event.status_code) == ("group.update", "50 added; 1 removed", 200)


def test_a_patch_at_the_default_limit_succeeds_with_the_right_members_and_one_over_is_refused(scim, acme, settings):
    """Okta's largest batch is 1,000 member changes, each removal its own operation."""
    limit = settings.SCIM_PATCH_MAX_OPERATIONS
    assert limit >= 1000
    users = make_users(acme, limit)
    leaving, joining = users[: limit // 2], users[limit // 2 :]
    group = make_groups(acme, leaving, 1)[0]
    operations = [remove(u) for u in leaving] + [add(u) for u in joining]

    over, over_elapsed = send_patch(scim, f"/Groups/{group.scim_id}", [*operations, add(leaving[0])])
    at, at_elapsed = send_patch(scim, f"/Groups/{group.scim_id}", operations)
    print(f"{limit + 1} operations: {over.status_code} in {over_elapsed:.2f} s; {limit}: {at.status_code} in {at_elapsed:.2f} s")

    assert over.status_code == 400 and f"at most {limit} operations" in over.json()["detail"]
    assert at.status_code == 200, at.text
    assert over_elapsed < FAST_SECONDS and at_elapsed < FAST_SECONDS
    assert members_of(group) == {str(u.scim_id) for u in joining}
    assert [(e.status_code, e.detail) for e in events_for(group)][-1] == (
        200,
        f"{len(joining)} added; {len(leaving)} removed",
    )
    assert [e.status_code for e in events_for(group)] == [400, 200]


@pytest.mark.parametrize(
    ("shape", "expected", "action"),
    [
        ("add a, remove a", {"b"}, "group.update"),
        ("remove b, add b", {"b"}, "group.update"),
        ("add a, add c, remove a", {"b", "c"}, "group.members.add"),
        ("replace [a], add c", {"a", "c"}, "group.update"),
        ("add c, replace [a]", {"a"}, "group.update"),
        ("remove all, add a", {"a"}, "group.update"),
        ("add a, remove all", set(), "group.members.remove"),
        ("remove b, add a, remove a", set(), "group.members.remove"),
    ],
)
def test_member_operations_apply_in_order_as_one_change_with_one_event(scim, acme, shape, expected, action):
    a, b, c = make_users(acme, 3)
    user = {"a": a, "b": b, "c": c}
    group = make_groups(acme, [b], 1)[0]
    operations = []
    for step in shape.split(", "):
        verb, _, name = step.partition(" ")
        if verb == "add":
            operations.append(add(user[name]))
        elif verb == "remove" and name == "all":
            operations.append({"op": "remove", "path": "members"})
        elif verb == "remove":
            operations.append(remove(user[name]))
        else:
            operations.append({"op": "replace", "path": "members", "value": [{"value": str(user[name.strip("[]")].scim_id)}]})

    response, _ = send_patch(scim, f"/Groups/{group.scim_id}", operations)

    assert response.status_code == 200, response.text
    wanted = {str(user[name].scim_id) for name in expected}
    assert {m["value"] for m in response.json()["members"]} == wanted == members_of(group)
    [event] = events_for(group)
    assert event.action == action


def test_one_event_summarises_a_rename_with_member_changes(scim, acme):
    a, b = make_users(acme, 2)
    group = make_groups(acme, [b], 1)[0]

    response, _ = send_patch(scim, f"/Groups/{group.scim_id}", [
        add(a),
        remove(b),
        {"op": "replace", "value": {"id": str(group.scim_id), "displayName": "Renamed"}},
    ])

    assert response.status_code == 200 and response.json()["displayName"] == "Renamed"
    [event] = events_for(group)
    assert (event.action, event.detail) == ("group.update", "Group 0 → Renamed; 1 added; 1 removed")


def test_an_unknown_member_anywhere_in_the_patch_is_a_400_and_nothing_changes(scim, acme, globex):
    a, b = make_users(acme, 2)
    [stranger] = make_users(globex, 1, start=50)
    group = make_groups(acme, [b], 1)[0]

    response, _ = send_patch(scim, f"/Groups/{group.scim_id}", [
        add(a),
        add(stranger),
        remove(stranger),  # the net change would not name it; the operation still did
        {"op": "remove", "path": 'members[value eq "not-an-id"]'},
    ])

    assert response.status_code == 400 and response.json()["scimType"] == "invalidValue"
    assert str(stranger.scim_id) in response.json()["detail"] and "not-an-id" in response.json()["detail"]
    assert members_of(group) == {str(b.scim_id)}


@pytest.mark.parametrize("limit", [None, 20_000])
def test_a_user_patch_of_10000_email_operations_is_a_fast_400(scim, acme, settings, limit):
    """Refused by the operation limit, or (with a raised limit) at the 51st address."""
    if limit:
        settings.SCIM_PATCH_MAX_OPERATIONS = limit
    user = scim.create_user("pat@acme.example").json()
    operations = [
        {"op": "add", "path": "emails", "value": [{"value": f"pat{i}@acme.example", "type": "other"}]}
        for i in range(10_000)
    ]

    response, elapsed = send_patch(scim, f"/Users/{user['id']}", operations)
    print(f"10,000 email operations, limit {settings.SCIM_PATCH_MAX_OPERATIONS}: {response.status_code} in {elapsed:.2f} s")

    assert response.status_code == 400 and response.json()["scimType"] == "invalidValue"
    assert elapsed < FAST_SECONDS
    detail = response.json()["detail"]
    assert ("at most 50 values" in detail) if limit else (str(settings.SCIM_PATCH_MAX_OPERATIONS) in detail)
    assert scim.get(f"/Users/{user['id']}").json()["emails"] == user["emails"]


def test_a_path_less_operation_counts_once_per_attribute_it_names(scim, settings):
    settings.SCIM_PATCH_MAX_OPERATIONS = 10
    user = scim.create_user("pat@acme.example").json()
    many = {f"urn:example:ext:attribute{i}": "x" for i in range(11)}

    refused, _ = send_patch(scim, f"/Users/{user['id']}", [{"op": "replace", "value": many}])
    served, _ = send_patch(scim, f"/Users/{user['id']}", [{"op": "replace", "value": {"title": "Lead", "active": False}}])

    assert refused.status_code == 400 and "at most 10 operations" in refused.json()["detail"]
    assert served.status_code == 200 and served.json()["title"] == "Lead" and served.json()["active"] is False


@pytest.fixture
def two_workers(django_db_setup, django_db_blocker, transactional_db, tmp_path):
    """gunicorn with two workers (as the README runs it) and the operation limit raised, so the
    big PATCHes below are applied rather than refused."""
    from tests.reliability.harness import Gunicorn

    server = Gunicorn(workers=2, env={"SCIM_PATCH_MAX_OPERATIONS": "20000"}, log_path=tmp_path / "gunicorn.log")
    with django_db_blocker.unblock():
        server.start()
    try:
        yield server
    finally:
        server.stop()


def test_three_big_patches_at_once_leave_the_workers_free(two_workers, acme, acme_key):
    from concurrent.futures import ThreadPoolExecutor

    from tests.scim_client import ScimClient

    users = make_users(acme, 100)
    groups = make_groups(acme, [], 3)
    operations = [op for _ in range(60) for user in users for op in (add(user), remove(user))]
    clients = [ScimClient(f"{two_workers.url}/scim/v1", acme_key) for _ in range(4)]

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        patches = [pool.submit(send_patch, client, f"/Groups/{group.scim_id}", operations) for client, group in zip(clients[:3], groups, strict=True)]
        lookup = pool.submit(clients[3].find_user, "user1@acme.example")
        answers = [future.result() for future in patches]
        found = lookup.result()
    took = time.monotonic() - started
    print(f"3 concurrent PATCHes of 12,000 operations on 2 workers, plus a lookup: all answered in {took:.2f} s")

    assert [response.status_code for response, _ in answers] == [200, 200, 200]
    assert found.status_code == 200 and found.json()["totalResults"] == 1
    assert took < 3 * FAST_SECONDS
    for group in groups:
        assert members_of(group) == set()
        [event] = events_for(group)
        assert (event.action, event.detail) == ("group.update", "")


@pytest.mark.parametrize("text", [
    'members[value eq "2819c223-7f76-4539-a919-d41386190464"]',
    'MEMBERS[VALUE EQ "2819C223-7F76-4539-A919-D41386190464"]',
    'members[value eq "not-an-id"]',
])
def test_the_direct_reading_of_a_member_path_equals_the_parsers(text):
    from directory.scim.patch import _parse_path
    from directory.scim.paths import parse_patch_path
    from directory.scim.schema import GROUP_SCHEMA

    direct, parsed = _parse_path(text, GROUP_SCHEMA), parse_patch_path(text, GROUP_SCHEMA)

    assert direct is not parsed
    assert (direct.uri, direct.attribute, direct.sub_attribute, direct.text) == (
        parsed.uri, parsed.attribute, parsed.sub_attribute, parsed.text
    )
    assert repr(direct.value_filter) == repr(parsed.value_filter)
    assert repr(direct.value_filter.expr.attr_path) == repr(parsed.value_filter.expr.attr_path)
    assert (direct.value_filter.expr.value, direct.value_filter.expr.comp_value.value) == (
        parsed.value_filter.expr.value, parsed.value_filter.expr.comp_value.value
    )
    assert direct.value_filter.expr.comp_value.value.json_type == parsed.value_filter.expr.comp_value.value.json_type
