"""The PATCH shapes of Okta's OIN apps and test suites, and Microsoft Entra ID's quirks."""

from __future__ import annotations

from directory.models import GroupMembership
from tests.scim_client import ENTERPRISE_SCHEMA


def test_path_less_replace_deactivates_and_reactivates_keeping_the_id(scim):
    user = scim.create_user("pat@acme.example").json()

    off = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "value": {"active": False}}])
    on = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "value": {"active": True}}])

    assert off.status_code == 200 and off.json()["active"] is False
    assert on.status_code == 200 and on.json()["active"] is True
    assert on.json()["id"] == user["id"] and on.json()["userName"] == "pat@acme.example"


def test_path_less_replace_with_a_partial_resource_changes_only_what_it_names(scim):
    user = scim.create_user("pat@acme.example", "Pat", "Smith", title="Analyst").json()

    patched = scim.patch(
        f"/Users/{user['id']}",
        [{"op": "replace", "value": {"name": {"givenName": "Patricia"}, "displayName": "Patricia Smith"}}],
    ).json()

    assert patched["name"] == {"givenName": "Patricia", "familyName": "Smith"}
    assert patched["displayName"] == "Patricia Smith" and patched["title"] == "Analyst"


def test_replace_add_and_remove_on_paths(scim):
    user = scim.create_user("pat@acme.example").json()
    path = f"/Users/{user['id']}"

    scim.patch(path, [{"op": "replace", "path": "name.familyName", "value": "Jones"}])
    scim.patch(path, [{"op": "add", "path": "title", "value": "Lead"}])
    scim.patch(path, [{"op": "add", "path": "phoneNumbers", "value": [{"value": "+1 555 0100", "type": "work"}]}])
    scim.patch(path, [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "pat.jones@acme.example"}])
    scim.patch(path, [{"op": "add", "path": f"{ENTERPRISE_SCHEMA}:department", "value": "Finance"}])
    after_add = scim.get(path).json()
    scim.patch(path, [{"op": "remove", "path": "title"}, {"op": "remove", "path": 'phoneNumbers[type eq "work"]'}])
    after_remove = scim.get(path).json()

    assert after_add["name"]["familyName"] == "Jones" and after_add["title"] == "Lead"
    assert after_add["phoneNumbers"] == [{"value": "+1 555 0100", "type": "work"}]
    assert after_add["emails"] == [{"value": "pat.jones@acme.example", "type": "work", "primary": True}]
    assert after_add[ENTERPRISE_SCHEMA] == {"department": "Finance"}
    assert ENTERPRISE_SCHEMA in after_add["schemas"]
    assert "title" not in after_remove and "phoneNumbers" not in after_remove
    assert after_remove[ENTERPRISE_SCHEMA] == {"department": "Finance"}


def test_patch_accepts_a_204_style_client_and_answers_200_with_the_resource(scim):
    user = scim.create_user("pat@acme.example").json()
    response = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "displayName", "value": "P"}])
    assert response.status_code == 200
    assert response.json()["displayName"] == "P"
    assert response.headers["ETag"] == response.json()["meta"]["version"]


def test_removing_user_name_is_refused_and_changes_nothing(scim):
    user = scim.create_user("pat@acme.example").json()
    response = scim.patch(f"/Users/{user['id']}", [{"op": "remove", "path": "userName"}])
    assert response.status_code == 400 and response.json()["scimType"] == "mutability"
    assert scim.get(f"/Users/{user['id']}").json()["userName"] == "pat@acme.example"


def test_okta_group_patches_add_remove_rename_and_replace_members(scim):
    ann = scim.create_user("ann@acme.example").json()
    bob = scim.create_user("bob@acme.example").json()
    cat = scim.create_user("cat@acme.example").json()
    group = scim.create_group("Engineering").json()
    path = f"/Groups/{group['id']}"

    added = scim.patch(
        path,
        [
            {"op": "add", "path": "members", "value": [{"value": ann["id"], "display": ann["userName"]}]},
            {"op": "add", "path": "members", "value": [{"value": bob["id"], "display": bob["userName"]}]},
        ],
    )
    assert added.status_code == 200
    assert {m["value"] for m in added.json()["members"]} == {ann["id"], bob["id"]}

    again = scim.patch(path, [{"op": "add", "path": "members", "value": [{"value": ann["id"]}]}])
    assert again.status_code == 200 and len(again.json()["members"]) == 2

    removed = scim.patch(path, [{"op": "remove", "path": f'members[value eq "{ann["id"]}"]'}])
    assert [m["value"] for m in removed.json()["members"]] == [bob["id"]]

    renamed = scim.patch(path, [{"op": "replace", "value": {"id": group["id"], "displayName": "Platform"}}])
    assert renamed.status_code == 200 and renamed.json()["displayName"] == "Platform"

    replaced = scim.patch(path, [{"op": "replace", "path": "members", "value": [{"value": cat["id"]}]}])
    assert [m["value"] for m in replaced.json()["members"]] == [cat["id"]]

    path_less = scim.patch(
        path, [{"op": "replace", "value": {"members": [{"value": ann["id"]}], "id": group["id"], "displayName": "Platform"}}]
    )
    assert [m["value"] for m in path_less.json()["members"]] == [ann["id"]]

    emptied = scim.patch(path, [{"op": "remove", "path": "members"}])
    assert emptied.json()["members"] == []


def test_unknown_and_foreign_member_ids_are_a_400_naming_them_and_nothing_changes(scim, scim_globex):
    ann = scim.create_user("ann@acme.example").json()
    stranger = scim_globex.create_user("stranger@globex.example").json()
    group = scim.create_group("Engineering", [ann["id"]]).json()

    response = scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "add", "path": "members", "value": [{"value": stranger["id"]}, {"value": "not-an-id"}]}],
    )

    body = response.json()
    assert response.status_code == 400 and body["scimType"] == "invalidValue"
    assert stranger["id"] in body["detail"] and "not-an-id" in body["detail"]
    assert GroupMembership.objects.count() == 1
    put = scim.put(f"/Groups/{group['id']}", {"displayName": "Engineering", "members": [{"value": stranger["id"]}]})
    assert put.status_code == 400 and GroupMembership.objects.count() == 1
    post = scim.create_group("Other", [stranger["id"]])
    assert post.status_code == 400 and post.json()["scimType"] == "invalidValue"


def test_entra_capitalised_ops_string_booleans_and_single_attribute_adds(scim):
    user = scim.create_user("entra@acme.example").json()
    path = f"/Users/{user['id']}"

    off = scim.patch(path, [{"op": "Replace", "path": "active", "value": "False"}])
    ext = scim.patch(path, [{"op": "Add", "path": "externalId", "value": "entra-object-id"}])
    mail = scim.patch(path, [{"op": "Replace", "path": 'emails[type eq "work"].value', "value": "e@acme.example"}])
    on = scim.patch(path, [{"op": "replace", "value": {"active": "True"}}])
    ent = scim.patch(path, [{"op": "Add", "path": f"{ENTERPRISE_SCHEMA}:manager", "value": {"value": "boss-id"}}])

    assert off.status_code == 200 and off.json()["active"] is False
    assert ext.json()["externalId"] == "entra-object-id"
    assert mail.json()["emails"][0]["value"] == "e@acme.example"
    assert on.json()["active"] is True
    assert ent.json()[ENTERPRISE_SCHEMA]["manager"] == {"value": "boss-id"}


def test_entra_group_member_removal_with_a_value_list_and_rename_by_path(scim):
    ann = scim.create_user("ann@acme.example").json()
    bob = scim.create_user("bob@acme.example").json()
    group = scim.create_group("Sales", [ann["id"], bob["id"]]).json()
    path = f"/Groups/{group['id']}"

    removed = scim.patch(path, [{"op": "Remove", "path": "members", "value": [{"value": ann["id"]}]}])
    renamed = scim.patch(path, [{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}])
    excluded = scim.get(path, params={"excludedAttributes": "members"}).json()

    assert [m["value"] for m in removed.json()["members"]] == [bob["id"]]
    assert renamed.json()["displayName"] == "Sales EMEA"
    assert "members" not in excluded and excluded["displayName"] == "Sales EMEA"


def test_a_bad_operation_rolls_back_the_whole_patch(scim):
    ann = scim.create_user("ann@acme.example").json()
    group = scim.create_group("Ops").json()

    response = scim.patch(
        f"/Groups/{group['id']}",
        [
            {"op": "add", "path": "members", "value": [{"value": ann["id"]}]},
            {"op": "frobnicate", "path": "members", "value": []},
        ],
    )

    assert response.status_code == 400 and response.json()["scimType"] == "invalidSyntax"
    assert scim.get(f"/Groups/{group['id']}").json()["members"] == []


def test_patch_errors_name_the_problem(scim):
    user = scim.create_user("pat@acme.example").json()
    path = f"/Users/{user['id']}"
    cases = [
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}, "invalidSyntax"),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove"}]}, "noTarget"),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": "x"}]}, "invalidValue"),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "emails[type eq", "value": "x"}]}, "invalidPath"),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": "maybe"}]}, "invalidValue"),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": "nope"}, "invalidSyntax"),
    ]
    for body, scim_type in cases:
        response = scim.patch(path, body=body)
        assert response.status_code == 400, body
        assert response.json()["scimType"] == scim_type, (body, response.json())
        assert response.json()["detail"]


def test_a_user_patch_answers_exactly_what_a_later_get_returns(scim):
    user = scim.create_user("same@acme.example", "Same", "Answer").json()
    scim.create_group("Readers", [user["id"]])
    patched = scim.patch(f"/Users/{user['id']}", [
        {"op": "replace", "value": {"name.givenName": "Changed", "active": False}},
        {"op": "add", "path": "emails", "value": [{"value": "second@acme.example", "type": "home"}]},
    ])
    assert patched.status_code == 200, patched.text
    fetched = scim.get(f"/Users/{user['id']}")
    assert patched.json() == fetched.json()
    assert patched.headers["ETag"] == fetched.headers["ETag"]
    assert [g["display"] for g in patched.json()["groups"]] == ["Readers"]
    assert {e["value"] for e in patched.json()["emails"]} == {"same@acme.example", "second@acme.example"}


def test_patch_path_filters_follow_the_type_rules_of_list_filters(scim):
    user = scim.create_user("typed@acme.example").json()
    path = f"/Users/{user['id']}"

    quoted_boolean = scim.patch(path, [{"op": "replace", "path": 'emails[primary eq "true"].value', "value": "x@acme.example"}])
    number = scim.patch(path, [{"op": "replace", "path": "emails[type eq 55].value", "value": "x@acme.example"}])
    ordered_boolean = scim.patch(path, [{"op": "remove", "path": "emails[primary gt false]"}])

    for response, named in [
        (quoted_boolean, "'emails.primary' is a boolean attribute: compare it with true or false (no quotes), not the string \"true\""),
        (number, "'emails.type' is a string attribute: compare it with a quoted string, not the number 55"),
        (ordered_boolean, "'emails.primary' is a boolean attribute: compare it with eq or ne"),
    ]:
        assert response.status_code == 400, response.text
        assert response.json()["scimType"] == "invalidFilter"
        assert named in response.json()["detail"]
    assert scim.get(path).json()["emails"] == user["emails"]

    # A quoted "true" stays a string when a new element is built from the filter.
    built = scim.patch(path, [{"op": "add", "path": 'emails[type eq "true"].value', "value": "t@acme.example"}])
    assert built.status_code == 200, built.text
    assert [e["type"] for e in built.json()["emails"] if e["value"] == "t@acme.example"] == ["true"]
    matched = scim.patch(path, [{"op": "replace", "path": "emails[primary eq true].value", "value": "typed2@acme.example"}])
    assert matched.status_code == 200, matched.text
    assert {"type": "work", "value": "typed2@acme.example", "primary": True} in matched.json()["emails"]


def test_group_patch_member_filters_follow_the_type_rules(scim):
    member = scim.create_user("member@acme.example").json()
    group = scim.create_group("Typed", [member["id"]]).json()
    response = scim.patch(f"/Groups/{group['id']}", [{"op": "remove", "path": "members[value eq 5]"}])
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidFilter"
    assert "'members.value' is a string attribute" in response.json()["detail"]
    assert [m["value"] for m in scim.get(f"/Groups/{group['id']}").json()["members"]] == [member["id"]]


def test_a_patch_path_filter_past_the_filter_limits_is_a_400(scim):
    user = scim.create_user("long@acme.example").json()
    long_path = "emails[" + " or ".join(['type eq "w"'] * 3000) + "]"
    deep_path = "emails[" + "(" * 900 + 'type eq "w"' + ")" * 900 + "].value"
    for text, named in [(long_path, "longer than 2000 characters"), (deep_path, "more than 32 deep")]:
        response = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": text, "value": "x@acme.example"}])
        assert response.status_code == 400, response.text[:300]
        assert response.json()["scimType"] == "invalidPath"
        assert named in response.json()["detail"]
