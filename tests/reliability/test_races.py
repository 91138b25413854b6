"""Races against a live gunicorn with four workers on PostgreSQL, the way Okta pushes: in
parallel, several requests for the same resource at once.

Each test starts its clients on a barrier so the requests really overlap, and repeats for
several rounds.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from directory.models import Agent, DirectoryUser, Group, GroupMembership
from integrations.services import agent_key_regenerate
from tests.reliability.conftest import new_client
from tests.scim_client import GROUP_SCHEMA, USER_SCHEMA

ROUNDS = 3


def run_at_once(count: int, action) -> list:
    barrier = threading.Barrier(count, timeout=30)

    def start(index: int):
        barrier.wait()
        return action(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


def make_users(okta, prefix: str, count: int) -> list[str]:
    ids = []
    for index in range(count):
        response = okta.create_user(f"{prefix}{index}@acme.example")
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def members_of(okta, group_id: str) -> set[str]:
    response = okta.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.text
    return {m["value"] for m in response.json().get("members", [])}


def test_racing_creates_of_one_user_name_give_one_201_and_409s(okta, gunicorn_server, acme_key):
    clients = 12
    for round_ in range(ROUNDS):
        name = f"Racer{round_}@Acme.example"

        def create(index: int, name=name):
            client = new_client(gunicorn_server, acme_key)
            return client.create_user(name.upper() if index % 2 else name.lower())

        responses = run_at_once(clients, create)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * (clients - 1), statuses
        assert all(r.json()["scimType"] == "uniqueness" for r in responses if r.status_code == 409)
        assert DirectoryUser.objects.filter(user_name__iexact=name).count() == 1


def test_racing_creates_of_one_group_name_give_one_201(okta, gunicorn_server, acme_key):
    def create(index: int):
        return new_client(gunicorn_server, acme_key).create_group("Engineering")

    statuses = sorted(r.status_code for r in run_at_once(8, create))
    assert statuses == [201] + [409] * 7, statuses
    assert Group.objects.filter(display_name__iexact="engineering").count() == 1


def test_parallel_patches_of_disjoint_members_lose_nothing(okta, gunicorn_server, acme_key):
    writers, per_writer = 8, 3
    users = make_users(okta, "member", writers * per_writer * 2)
    # Writer i adds its own slice of the first half and removes its own slice of the second.
    adds = [users[i * per_writer:(i + 1) * per_writer] for i in range(writers)]
    half = writers * per_writer
    removes = [users[half + i * per_writer:half + (i + 1) * per_writer] for i in range(writers)]
    for round_ in range(ROUNDS):
        group = okta.create_group(f"Parallel {round_}", members=users[half:]).json()

        def patch(index: int, group_id=group["id"]):
            client = new_client(gunicorn_server, acme_key)
            operations = [{"op": "add", "path": "members", "value": [{"value": v} for v in adds[index]]}]
            operations += [
                {"op": "remove", "path": f'members[value eq "{v}"]'} for v in removes[index]
            ]
            return client.patch(f"/Groups/{group_id}", operations)

        responses = run_at_once(writers, patch)
        assert [r.status_code for r in responses] == [200] * writers, [r.text for r in responses]
        # Every serial order of disjoint add/remove gives the same set: all adds, no removes.
        expected = set(users[:half])
        assert members_of(okta, group["id"]) == expected
        rows = GroupMembership.objects.filter(group__scim_id=group["id"])
        assert {str(m.user.scim_id) for m in rows.select_related("user")} == expected
        assert rows.count() == len(expected)


def test_full_list_puts_interleaved_with_patches_are_never_torn(okta, gunicorn_server, acme_key):
    users = make_users(okta, "torn", 30)
    lists = [set(users[0:10]), set(users[10:20])]  # what the PUTs replace the whole list with
    extras = users[20:30]  # what the PATCHes add and remove
    group = okta.create_group("Interleaved", members=sorted(lists[0])).json()
    seen: list[set[str]] = []

    def act(index: int):
        client = new_client(gunicorn_server, acme_key)
        results = []
        for step in range(6):
            if index < 3:
                wanted = lists[(index + step) % 2]
                body = {"schemas": [GROUP_SCHEMA], "displayName": "Interleaved",
                        "members": [{"value": v} for v in sorted(wanted)]}
                response = client.put(f"/Groups/{group['id']}", body)
                results.append(response.status_code)
                # The state right after this PUT is exactly its list.
                assert {m["value"] for m in response.json()["members"]} == wanted
            elif index < 6:
                extra = extras[(index * 6 + step) % len(extras)]
                op = "add" if step % 2 == 0 else "remove"
                value = [{"value": extra}] if op == "add" else None
                operation = {"op": op, "path": "members" if op == "add" else f'members[value eq "{extra}"]'}
                if value:
                    operation["value"] = value
                results.append(client.patch(f"/Groups/{group['id']}", [operation]).status_code)
            else:
                seen.append(members_of(client, group["id"]))
                results.append(200)
        return results

    statuses = [s for result in run_at_once(8, act) for s in result]
    assert set(statuses) == {200}, statuses
    # Whatever was observed, the part the PUTs own is one whole list, never half of each.
    for members in [*seen, members_of(okta, group["id"])]:
        assert members & (lists[0] | lists[1]) in lists, members


def test_concurrent_profile_puts_never_mix_fields_of_two_writers(okta, gunicorn_server, acme_key):
    user = okta.create_user("profile@acme.example").json()

    def put(index: int):
        body = {
            "schemas": [USER_SCHEMA], "userName": "profile@acme.example",
            "name": {"givenName": f"Given{index}", "familyName": f"Family{index}"},
            "displayName": f"Display{index}", "title": f"Title{index}",
            "emails": [{"value": f"writer{index}@acme.example", "type": "work", "primary": True}],
            "active": True,
        }
        return new_client(gunicorn_server, acme_key).put(f"/Users/{user['id']}", body)

    for _ in range(ROUNDS):
        responses = run_at_once(8, put)
        assert [r.status_code for r in responses] == [200] * 8
        final = okta.get(f"/Users/{user['id']}").json()
        writer = final["name"]["givenName"].removeprefix("Given")
        assert final["name"]["familyName"] == f"Family{writer}"
        assert final["displayName"] == f"Display{writer}"
        assert final["title"] == f"Title{writer}"
        assert [e["value"] for e in final["emails"]] == [f"writer{writer}@acme.example"]


def test_racing_patches_of_different_attributes_of_one_user_lose_none(okta, gunicorn_server, acme_key):
    """Each PATCH is saved only over the version of the user it read (or under the row lock
    after losing that race twice), so no writer's change is overwritten by another's."""
    attributes = ["title", "nickName", "displayName", "locale", "preferredLanguage", "timezone",
                  "userType", "profileUrl"]

    for round_number in range(ROUNDS):
        user = okta.create_user(f"disjoint{round_number}@acme.example").json()

        def patch(index: int, user_id=user["id"]):
            return new_client(gunicorn_server, acme_key).patch(
                f"/Users/{user_id}", [{"op": "replace", "value": {attributes[index]: f"v{index}"}}]
            )

        responses = run_at_once(len(attributes), patch)
        assert [r.status_code for r in responses] == [200] * len(attributes)
        final = okta.get(f"/Users/{user['id']}").json()
        assert {a: final.get(a) for a in attributes} == {a: f"v{i}" for i, a in enumerate(attributes)}


def test_if_match_lets_exactly_one_of_racing_writers_win(okta, gunicorn_server, acme_key):
    user = okta.create_user("etag@acme.example").json()
    etag = okta.get(f"/Users/{user['id']}").headers["ETag"]
    assert etag == user["meta"]["version"]

    def patch(index: int):
        return new_client(gunicorn_server, acme_key).patch(
            f"/Users/{user['id']}",
            [{"op": "replace", "value": {"title": f"Writer {index}"}}],
            headers={"If-Match": etag},
        )

    responses = run_at_once(8, patch)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 7, statuses
    for response in responses:
        if response.status_code == 412:
            assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert okta.put(
        f"/Users/{user['id']}", {"schemas": [USER_SCHEMA], "userName": "etag@acme.example"},
        headers={"If-Match": etag},
    ).status_code == 412
    fresh = okta.get(f"/Users/{user['id']}").headers["ETag"]
    assert okta.delete(f"/Users/{user['id']}", headers={"If-Match": fresh}).status_code == 204


def test_a_deactivation_racing_first_check_ins_leaves_every_agent_flagged(
    okta, gunicorn_server, acme_key, acme
):
    """The user is deactivated while two of its machines check in for the first time: whichever
    commits first, the agents attached to the inactive user are flagged for uninstall."""
    agent_key = agent_key_regenerate(account=acme)
    for round_number in range(ROUNDS * 3):
        name = f"agentrace{round_number}@acme.example"
        user = okta.create_user(name).json()

        def act(index: int, user_id=user["id"], name=name, machine=f"M{round_number}"):
            if index == 0:
                return new_client(gunicorn_server, acme_key).patch(
                    f"/Users/{user_id}", [{"op": "replace", "value": {"active": False}}]).status_code
            return requests.post(
                f"{gunicorn_server.url}/api/agents/v1/check-in",
                json={"logon_name": name, "machine_name": f"{machine}-{index}"},
                headers={"Authorization": f"Bearer {agent_key}"}, timeout=30,
            ).status_code

        assert sorted(run_at_once(3, act)) == [200, 201, 201]
        agents = Agent.objects.filter(user__scim_id=user["id"]).values_list("machine_name", "is_uninstall_required")
        assert sorted(agents) == [(f"M{round_number}-1", True), (f"M{round_number}-2", True)]
