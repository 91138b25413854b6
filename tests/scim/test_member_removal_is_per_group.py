"""Removing a member from one group leaves the user in every other group, whichever way the
removal arrives: Okta's PATCH with a value filter, Entra's PATCH with a value list, a PUT of the
remaining members, and the Groups page. A planted bug that made removal global passed the whole
suite before these tests."""

from __future__ import annotations

import pytest

from directory.models import Group, GroupMembership

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


@pytest.fixture
def two_groups(scim):
    ann = scim.create_user("ann@acme.example").json()["id"]
    bob = scim.create_user("bob@acme.example").json()["id"]
    sales = scim.create_group("Sales", [ann, bob]).json()["id"]
    staff = scim.create_group("Staff", [ann, bob]).json()["id"]
    return {"ann": ann, "bob": bob, "sales": sales, "staff": staff}


def members(scim, group_id: str) -> set[str]:
    return {m["value"] for m in scim.get(f"/Groups/{group_id}").json().get("members", [])}


def assert_only_sales_lost_ann(scim, ids) -> None:
    assert members(scim, ids["sales"]) == {ids["bob"]}
    assert members(scim, ids["staff"]) == {ids["ann"], ids["bob"]}
    assert {g["value"] for g in scim.get(f"/Users/{ids['ann']}").json()["groups"]} == {ids["staff"]}


@pytest.mark.parametrize("operation", [
    pytest.param(lambda ids: {"op": "remove", "path": f'members[value eq "{ids["ann"]}"]'}, id="okta-value-filter"),
    pytest.param(lambda ids: {"op": "Remove", "path": "members", "value": [{"value": ids["ann"]}]}, id="entra-value-list"),
    pytest.param(lambda ids: {"op": "replace", "path": "members", "value": [{"value": ids["bob"]}]}, id="replace-members"),
])
def test_a_patch_removing_ann_from_sales(scim, two_groups, operation):
    ids = two_groups
    response = scim.patch(f"/Groups/{ids['sales']}", [operation(ids)])
    assert response.status_code in (200, 204), response.text
    assert_only_sales_lost_ann(scim, ids)


def test_put_of_the_remaining_members(scim, two_groups):
    ids = two_groups
    response = scim.put(f"/Groups/{ids['sales']}", {
        "schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": [{"value": ids["bob"]}],
    })
    assert response.status_code == 200, response.text
    assert_only_sales_lost_ann(scim, ids)


def test_the_groups_page_removes_from_that_group_only(acme, alice, client):
    from directory.models import DirectoryUser

    ann = DirectoryUser.objects.create(account=acme, user_name="ann@acme.example")
    sales = Group.objects.create(account=acme, display_name="Sales", source=Group.SOURCE_PRODUCT)
    staff = Group.objects.create(account=acme, display_name="Staff", source=Group.SOURCE_PRODUCT)
    for group in (sales, staff):
        GroupMembership.objects.create(group=group, user=ann)
    client.force_login(alice)
    client.post(f"/groups/{sales.scim_id}/", {"action": "remove", "user_name": "ann@acme.example"})
    assert not GroupMembership.objects.filter(group=sales, user=ann).exists()
    assert GroupMembership.objects.filter(group=staff, user=ann).exists()
