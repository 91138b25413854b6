"""Okta's published SCIM 2.0 test suites (Runscope "SPEC" 2024 and its 2023 group variant),
request by request with their own headers and assertions."""

from __future__ import annotations

import random
import string
import time

import pytest
import requests

from tests.scim_client import ERROR_SCHEMA, LIST_RESPONSE, USER_SCHEMA

RUNSCOPE_GET_HEADERS = {
    "Accept": "application/scim+json",
    "Content-Type": "application/scim+json; charset=utf-8",
    "Accept-Charset": "utf-8",
    "User-Agent": "OKTA SCIM Integration",
}


@pytest.fixture
def runscope(live_server, acme_key):
    base = f"{live_server.url}/scim/v1"
    auth = {"Authorization": f"Bearer {acme_key}"}

    def call(method, path, body=None, headers=None):
        merged = {**RUNSCOPE_GET_HEADERS, **auth, **(headers or {})}
        return requests.request(method, base + path, json=body, headers=merged, timeout=30)

    return call


def random_user():
    digits = "".join(random.choices(string.digits, k=3))
    given = f"Runscope{digits}"
    family = "".join(random.choices(string.ascii_letters, k=9)).capitalize() + digits
    return given, family, f"{given}{family}@atko.com"


def test_okta_spec_test_2024_all_twelve_requests(runscope, scim):
    scim.create_user("existing.user@atko.com", "Existing", "User")  # "create at least one user"
    given, family, email = random_user()

    # 1. list with count=1
    r = runscope("GET", "/Users?count=1&startIndex=1")
    body = r.json()
    assert r.status_code == 200 and body["Resources"] and LIST_RESPONSE in body["schemas"]
    assert all(isinstance(body[k], int) for k in ("itemsPerPage", "startIndex", "totalResults"))
    first = body["Resources"][0]
    for value in (first["id"], first["name"]["familyName"], first["name"]["givenName"], first["userName"], first["emails"][0]["value"]):
        assert value
    assert "active" in first
    isv_user_id = first["id"]

    # 2. get by id
    r = runscope("GET", f"/Users/{isv_user_id}")
    assert r.status_code == 200 and r.json()["id"] == isv_user_id and r.json()["active"] is True

    # 3. filter for a user that does not exist
    r = runscope("GET", '/Users?filter=userName eq "abcdefgh@atko.com"')
    assert r.status_code == 200 and r.json()["totalResults"] == 0 and LIST_RESPONSE in r.json()["schemas"]

    # 4. unknown id
    r = runscope("GET", "/Users/010101001010101011001010101011")
    assert r.status_code == 404 and r.json()["detail"] and ERROR_SCHEMA in r.json()["schemas"]

    # 5. random user not there yet
    r = runscope("GET", f'/Users?filter=userName eq "{email}"')
    assert r.status_code == 200 and r.json()["totalResults"] == 0

    # 6. create, with Content-Type application/json
    new_user = {
        "schemas": [USER_SCHEMA],
        "userName": email,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": email, "type": "work"}],
        "displayName": f"{given} {family}",
        "active": True,
    }
    post_headers = {"Content-Type": "application/json", "Accept": "application/scim+json; charset=utf-8"}
    r = runscope("POST", "/Users", new_user, post_headers)
    created = r.json()
    assert r.status_code == 201 and created["active"] is True and created["id"]
    assert created["name"]["familyName"] == family and created["name"]["givenName"] == given
    assert created["userName"] == email and USER_SCHEMA in created["schemas"]
    user_one = created["id"]

    # 7. read it back
    r = runscope("GET", f"/Users/{user_one}")
    assert r.json()["userName"] == email and r.json()["name"]["familyName"] == family

    # 8. duplicate
    r = runscope("POST", "/Users", new_user, post_headers)
    assert r.status_code == 409

    # 9. uppercase filter finds the same user
    r = runscope("GET", f'/Users?filter=userName eq "{email.upper()}"')
    assert r.status_code == 200 and r.json()["Resources"][0]["id"] == user_one

    # 10. groups, fast
    started = time.monotonic()
    r = runscope("GET", "/Groups")
    assert r.status_code == 200 and isinstance(r.json()["Resources"], list)
    assert time.monotonic() - started < 0.6

    # 11. a non-token Authorization header
    r = runscope("GET", f'/Users?filter=userName eq "{email}"', headers={"Authorization": "non-token"})
    assert r.status_code == 401 and r.json()["detail"] and int(r.json()["status"]) == 401
    assert ERROR_SCHEMA in r.json()["schemas"]

    # 12. another unknown id
    r = runscope("GET", "/Users/00919288221112222")
    assert r.status_code == 404 and int(r.json()["status"]) == 404 and r.json()["detail"]


def test_okta_spec_test_2023_put_phone_numbers_groups_and_patch_deactivate(runscope, scim):
    given, family, email = random_user()
    user = scim.create_user(email, given, family).json()

    with_phone = {**user, "phoneNumbers": [{"value": "+1-555-0100", "type": "mobile", "primary": True}]}
    r = runscope("PUT", f"/Users/{user['id']}", with_phone)
    assert r.status_code == 200 and r.json()["phoneNumbers"][0]["value"] == "+1-555-0100"

    r = runscope(
        "POST",
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": f"Group-{given}",
            "members": [{"value": user["id"], "display": email}],
        },
    )
    group = r.json()
    assert r.status_code == 201
    assert group["members"][0]["value"] == user["id"] and group["members"][0]["display"] == email
    assert runscope("GET", f"/Groups/{group['id']}").status_code == 200

    patch = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    r = runscope("PATCH", f"/Groups/{group['id']}", {"schemas": [patch], "Operations": [{"op": "remove", "path": f'members[value eq "{user["id"]}"]'}]})
    assert r.status_code == 200 and r.json()["members"] == []
    r = runscope("PATCH", f"/Groups/{group['id']}", {"schemas": [patch], "Operations": [{"op": "add", "path": "members", "value": [{"value": user["id"], "display": email}]}]})
    assert r.status_code == 200 and len(r.json()["members"]) == 1
    r = runscope("PUT", f"/Groups/{group['id']}", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": f"Group-{given}", "members": []})
    assert r.status_code == 200 and r.json()["members"] == []
    assert runscope("DELETE", f"/Groups/{group['id']}").status_code == 204

    r = runscope("PATCH", f"/Users/{user['id']}", {"schemas": [patch], "Operations": [{"op": "replace", "value": {"active": False}}]})
    assert r.status_code == 200 and r.json()["active"] is False


def test_okta_crud_test_create_update_deactivate_reactivate_unassign(scim):
    """What Okta's CRUD suite checks on our side after driving its own API."""
    given, family, email = random_user()
    created = scim.create_user(email, given, family).json()

    found = scim.find_user(email).json()["Resources"][0]
    assert (found["userName"], found["emails"][0]["value"], found["name"]["familyName"], found["name"]["givenName"]) == (email, email, family, given)

    scim.put(f"/Users/{created['id']}", {**scim.get(f"/Users/{created['id']}").json(), "name": {"givenName": "Changed", "familyName": family}})
    assert scim.get(f"/Users/{created['id']}").json()["name"]["givenName"] == "Changed"
    scim.put(f"/Users/{created['id']}", {**scim.get(f"/Users/{created['id']}").json(), "active": False})
    assert scim.get(f"/Users/{created['id']}").json()["active"] is False
    scim.put(f"/Users/{created['id']}", {**scim.get(f"/Users/{created['id']}").json(), "active": True})
    assert scim.get(f"/Users/{created['id']}").json()["active"] is True
    scim.put(f"/Users/{created['id']}", {**scim.get(f"/Users/{created['id']}").json(), "active": False})
    assert scim.get(f"/Users/{created['id']}").json()["active"] is False
