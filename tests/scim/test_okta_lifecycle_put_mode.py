"""The Okta App Integration Wizard lifecycle, as Okta sends it: users and groups by GET + PUT."""

from __future__ import annotations

from directory.models import DirectoryUser, Group
from integrations.models import ProvisioningEvent
from tests.scim_client import ERROR_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE


def test_connection_test_gets_empty_list_responses_with_integer_counts(scim):
    users = scim.get("/Users", params={"startIndex": 1, "count": 2})
    groups = scim.get("/Groups", params={"startIndex": 1, "count": 100})

    for response in (users, groups):
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/scim+json")
        assert response.json() == {
            "schemas": [LIST_RESPONSE],
            "totalResults": 0,
            "startIndex": 1,
            "itemsPerPage": 0,
            "Resources": [],
        }


def test_assigning_a_user_looks_up_then_creates_and_ignores_password_and_groups(scim, acme):
    lookup = scim.find_user("Tyler.Durden@acme.example")
    assert lookup.status_code == 200 and lookup.json()["totalResults"] == 0

    created = scim.create_user("Tyler.Durden@acme.example", "Tyler", "Durden")

    assert created.status_code == 201
    user = created.json()
    assert user["userName"] == "Tyler.Durden@acme.example"  # exactly as sent
    assert user["name"] == {"givenName": "Tyler", "familyName": "Durden"}
    assert user["emails"] == [{"value": "Tyler.Durden@acme.example", "type": "work", "primary": True}]
    assert user["active"] is True and user["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert "password" not in user
    assert created.headers["Location"] == user["meta"]["location"]
    assert user["meta"]["location"].endswith(f"/scim/v1/Users/{user['id']}")
    stored = DirectoryUser.objects.get(scim_id=user["id"])
    assert stored.account == acme
    assert "1mz050nq" not in repr(stored.__dict__)
    found = scim.find_user("tyler.durden@ACME.example").json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user["id"]


def test_creating_an_existing_user_name_in_any_case_is_a_409_uniqueness(scim):
    assert scim.create_user("dup@acme.example").status_code == 201

    again = scim.create_user("DUP@acme.example")

    assert again.status_code == 409
    body = again.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["scimType"] == "uniqueness" and body["status"] == "409"
    assert "dup@acme.example" in body["detail"].lower()
    assert DirectoryUser.objects.count() == 1


def test_profile_update_is_get_then_put_of_the_echoed_resource(scim):
    user = scim.create_user("ann@acme.example", "Ann", "Lee").json()
    current = scim.get(f"/Users/{user['id']}").json()

    current["name"]["givenName"] = "Annie"
    current["title"] = "Engineer"
    current["password"] = "Zq9!random"
    current["id"] = user["id"]
    updated = scim.put(f"/Users/{user['id']}", current)

    assert updated.status_code == 200
    body = updated.json()
    assert body["name"]["givenName"] == "Annie" and body["title"] == "Engineer"
    assert body["id"] == user["id"] and body["groups"] == []
    assert scim.get(f"/Users/{user['id']}").json()["name"]["givenName"] == "Annie"


def test_put_can_change_user_name_but_not_onto_another_user(scim):
    first = scim.create_user("first@acme.example").json()
    scim.create_user("second@acme.example")

    renamed = scim.put(f"/Users/{first['id']}", {**first, "userName": "First.Renamed@acme.example"})
    clash = scim.put(f"/Users/{first['id']}", {**first, "userName": "SECOND@acme.example"})

    assert renamed.status_code == 200 and renamed.json()["userName"] == "First.Renamed@acme.example"
    assert clash.status_code == 409 and clash.json()["scimType"] == "uniqueness"


def test_deactivate_and_reactivate_by_put_keep_the_id_and_lookup_finds_inactive_users(scim):
    user = scim.create_user("leaver@acme.example").json()

    current = scim.get(f"/Users/{user['id']}").json()
    deactivated = scim.put(f"/Users/{user['id']}", {**current, "active": False})
    lookup = scim.find_user("leaver@acme.example").json()
    reactivated = scim.put(f"/Users/{user['id']}", {**deactivated.json(), "active": True})

    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    assert lookup["totalResults"] == 1 and lookup["Resources"][0]["active"] is False
    assert reactivated.json()["active"] is True and reactivated.json()["id"] == user["id"]
    actions = list(ProvisioningEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["user.create", "user.deactivate", "user.reactivate"]


def test_push_group_then_every_change_is_get_plus_put_of_the_full_member_list(scim):
    ann = scim.create_user("ann@acme.example").json()
    bob = scim.create_user("bob@acme.example").json()
    assert scim.find_group("Engineering").json()["totalResults"] == 0

    created = scim.create_group("Engineering")
    group = created.json()
    assert created.status_code == 201 and group["members"] == []
    assert group["schemas"] == [GROUP_SCHEMA]

    current = scim.get(f"/Groups/{group['id']}").json()
    members = [{"value": ann["id"], "display": ann["userName"]}, {"value": bob["id"], "display": None}]
    both = scim.put(f"/Groups/{group['id']}", {**current, "members": members})
    assert both.status_code == 200
    assert {m["value"] for m in both.json()["members"]} == {ann["id"], bob["id"]}

    just_bob = scim.put(f"/Groups/{group['id']}", {**both.json(), "members": [members[1]]})
    assert [m["value"] for m in just_bob.json()["members"]] == [bob["id"]]

    renamed = scim.put(f"/Groups/{group['id']}", {**just_bob.json(), "displayName": "Platform"})
    same_name = scim.put(f"/Groups/{group['id']}", renamed.json())
    assert renamed.json()["displayName"] == "Platform" and same_name.status_code == 200

    assert scim.find_group("platform").json()["Resources"][0]["id"] == group["id"]
    user_view = scim.get(f"/Users/{bob['id']}").json()
    assert user_view["groups"][0]["value"] == group["id"]

    deleted = scim.delete(f"/Groups/{group['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert scim.get(f"/Groups/{group['id']}").status_code == 404
    assert not Group.objects.exists()


def test_group_created_with_members_and_an_empty_push(scim):
    ann = scim.create_user("ann@acme.example").json()

    group = scim.create_group("Sales", [ann["id"]]).json()
    emptied = scim.put(f"/Groups/{group['id']}", {"displayName": "Sales", "members": []})

    assert [m["value"] for m in group["members"]] == [ann["id"]]
    assert emptied.status_code == 200 and emptied.json()["members"] == []


def test_duplicate_group_name_is_a_409(scim):
    scim.create_group("Ops")
    again = scim.create_group("OPS")
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"


def test_a_put_answers_exactly_what_a_later_get_returns_new_members_last_in_sent_order(scim):
    ids = [scim.create_user(f"order{i}@acme.example").json()["id"] for i in range(6)]
    group = scim.create_group("Ordered", ids[:3]).json()
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Ordered",
        "members": [
            {"value": ids[5], "display": "five"},
            {"value": ids[2].upper(), "display": "two, relabelled"},
            {"value": ids[0]},
            {"value": ids[4], "display": "four"},
        ],
    }
    put = scim.put(f"/Groups/{group['id']}", body)
    assert put.status_code == 200, put.text
    fetched = scim.get(f"/Groups/{group['id']}").json()
    assert put.json()["members"] == fetched["members"]
    assert [m["value"] for m in fetched["members"]] == [ids[0], ids[2], ids[5], ids[4]]
    assert {m["value"]: m.get("display") for m in fetched["members"]}[ids[2]] == "two, relabelled"
    assert put.json()["meta"]["version"] == fetched["meta"]["version"]
