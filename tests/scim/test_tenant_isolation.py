"""Two accounts: each key sees and touches only its own users, groups and members."""

from __future__ import annotations

import pytest

from directory.models import DirectoryUser, Group, GroupMembership


@pytest.fixture
def acme_data(scim):
    user = scim.create_user("shared.name@example.com", "Ann", "Acme").json()
    group = scim.create_group("Engineering", [user["id"]]).json()
    return user, group


def test_globex_cannot_read_acme_resources_by_id_or_list_or_filter(scim_globex, acme_data):
    user, group = acme_data

    assert scim_globex.get(f"/Users/{user['id']}").status_code == 404
    assert scim_globex.get(f"/Groups/{group['id']}").status_code == 404
    assert scim_globex.get("/Users").json()["totalResults"] == 0
    assert scim_globex.get("/Groups").json()["totalResults"] == 0
    assert scim_globex.find_user("shared.name@example.com").json()["totalResults"] == 0
    assert scim_globex.find_group("Engineering").json()["totalResults"] == 0
    either = 'userName eq "nobody@x" or userName eq "shared.name@example.com"'
    assert scim_globex.get("/Users", params={"filter": either}).json()["totalResults"] == 0
    assert scim_globex.get("/Users", params={"filter": f'id eq "{user["id"]}"'}).json()["totalResults"] == 0
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName pr"}
    assert scim_globex.post("/Users/.search", search).json()["totalResults"] == 0
    assert scim_globex.post("/Groups/.search", {**search, "filter": "displayName pr"}).json()["totalResults"] == 0


def test_globex_cannot_change_or_delete_acme_resources(scim, scim_globex, acme_data):
    user, group = acme_data
    patch_user = [{"op": "replace", "value": {"active": False}}]

    responses = [
        scim_globex.put(f"/Users/{user['id']}", {**user, "title": "hijacked"}),
        scim_globex.patch(f"/Users/{user['id']}", patch_user),
        scim_globex.delete(f"/Users/{user['id']}"),
        scim_globex.put(f"/Groups/{group['id']}", {"displayName": "hijacked", "members": []}),
        scim_globex.patch(f"/Groups/{group['id']}", [{"op": "remove", "path": "members"}]),
        scim_globex.delete(f"/Groups/{group['id']}"),
    ]

    assert [r.status_code for r in responses] == [404] * 6
    after = scim.get(f"/Users/{user['id']}").json()
    assert after["active"] is True and "title" not in after
    assert [m["value"] for m in scim.get(f"/Groups/{group['id']}").json()["members"]] == [user["id"]]


def test_globex_cannot_add_acme_users_to_its_groups(scim_globex, acme_data):
    user, _ = acme_data
    group = scim_globex.create_group("Globex team").json()

    response = scim_globex.patch(f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}])

    assert response.status_code == 400 and user["id"] in response.json()["detail"]
    assert not GroupMembership.objects.filter(group__scim_id=group["id"]).exists()


def test_the_same_user_name_and_group_name_live_in_both_accounts(scim_globex, acme_data):
    created_user = scim_globex.create_user("shared.name@example.com")
    created_group = scim_globex.create_group("Engineering")

    assert created_user.status_code == 201 and created_group.status_code == 201
    assert DirectoryUser.objects.filter(user_name="shared.name@example.com").count() == 2
    assert Group.objects.filter(display_name="Engineering").count() == 2
    assert created_user.json()["groups"] == []
