"""Okta pushes a group by PUT with its whole member list; the body limit must fit the largest
group a customer has, while other requests keep the 1 MiB limit."""

from __future__ import annotations

import json

from django.conf import settings

from directory.models import DirectoryUser, UserEmail
from tests.scim.test_errors import assert_scim_error
from tests.scim_client import GROUP_SCHEMA

MEMBERS = 25_000


def okta_put_body(group_id: str, users: list[DirectoryUser]) -> bytes:
    """Okta's PUT /Groups/{id}: compact JSON, each member its id and userName (README)."""
    members = [{"value": str(user.scim_id), "display": user.user_name} for user in users]
    body = {"schemas": [GROUP_SCHEMA], "id": group_id, "displayName": "All staff", "members": members}
    return json.dumps(body, separators=(",", ":")).encode()


def test_okta_put_of_a_25000_member_group_is_applied(scim, acme):
    users = DirectoryUser.objects.bulk_create(
        DirectoryUser(account=acme, user_name=f"firstname.lastname{i}@customer.example")
        for i in range(MEMBERS)
    )
    UserEmail.objects.bulk_create(
        UserEmail(user=u, account=acme, value=u.user_name, type="work", is_primary=True) for u in users
    )
    group_id = scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "All staff"}).json()["id"]
    body = okta_put_body(group_id, users)
    assert len(body) > settings.SCIM_MAX_BODY_BYTES

    response = scim.request(
        "PUT", f"/Groups/{group_id}?excludedAttributes=members", data=body,
        headers={"Content-Type": "application/scim+json"},
    )

    assert response.status_code == 200, response.text[:500]
    listed = scim.get(f"/Groups?filter=id eq \"{group_id}\"&excludedAttributes=members").json()
    assert listed["totalResults"] == 1
    assert scim.get(f"/Groups/{group_id}").json()["members"].__len__() == MEMBERS
    # The README's figure: the default limit holds an Okta PUT of 100,000 such members.
    assert len(body) / MEMBERS * 100_000 < settings.SCIM_MAX_GROUP_BODY_BYTES


def test_group_bodies_have_their_own_limit_and_other_bodies_keep_the_smaller_one(scim, settings):
    settings.SCIM_MAX_GROUP_BODY_BYTES = 4096
    members = [{"value": f"{i:032x}"} for i in range(200)]
    group = scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Big", "members": members})
    user = scim.request(
        "POST", "/Users", data=b'{"userName": "' + b"a" * (settings.SCIM_MAX_BODY_BYTES + 1) + b'"}',
        headers={"Content-Type": "application/scim+json"},
    )

    assert_scim_error(group, 413)
    assert "4096" in group.json()["detail"]
    assert_scim_error(user, 413)
    assert str(settings.SCIM_MAX_BODY_BYTES) in user.json()["detail"]
