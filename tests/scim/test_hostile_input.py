"""Generated hostile input: whatever arrives, the answer is a SCIM response, never a 5xx.

This is the small slice that runs with every test run; it goes through Django's test client so
hundreds of requests stay fast.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory.models import DirectoryUser, GroupMembership

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
attribute_names = st.sampled_from(
    ["userName", "name", "emails", "active", "displayName", "members", "externalId", "title", "phoneNumbers",
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "schemas", "id", "meta", "groups", "password"]
)
bodies = st.dictionaries(attribute_names | st.text(max_size=10), json_values, max_size=6)
paths = st.sampled_from(
    ["members", 'members[value eq "x"]', "emails", 'emails[type eq "work"].value', "name.givenName", "active",
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "displayName", "x[", "]", "a.b.c", ""]
) | st.text(max_size=20)
operations = st.lists(
    st.fixed_dictionaries({"op": st.sampled_from(["add", "remove", "replace", "Add", "bogus"]) | st.text(max_size=5)},
                          optional={"path": paths | st.none(), "value": json_values}),
    max_size=4,
)
filters = st.text(max_size=40) | st.builds(
    lambda a, op, v: f'{a} {op} "{v}"',
    st.sampled_from(["userName", "emails.value", "active", "id", "meta.lastModified", "displayName", "members.value", "x"]),
    st.sampled_from(["eq", "ne", "co", "sw", "pr", "gt", "zz"]),
    st.text(max_size=10),
)

SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def assert_scim_answer(response):
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        body = json.loads(response.content)
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and body["detail"]


@SLOW
@given(body=bodies)
def test_generated_user_and_group_bodies(acme, globex, acme_key, scim_client, body):
    stranger = DirectoryUser.objects.filter(account=globex).first() or DirectoryUser.objects.create(
        account=globex, user_name="stranger@globex.example"
    )
    members = body.get("members")
    if isinstance(members, list) and members:
        body["members"] = [*members, {"value": str(stranger.scim_id)}]
    for path in ("/Users", "/Groups"):
        assert_scim_answer(scim_client("POST", path, json.dumps(body)))
    assert not DirectoryUser.objects.filter(deleted_at__isnull=True, user_name="").exists()
    assert not GroupMembership.objects.exclude(user__account=acme).exists()


@SLOW
@given(ops=operations)
def test_generated_patch_operations(acme, acme_key, scim_client, ops):
    user = DirectoryUser.objects.filter(account=acme).first() or DirectoryUser.objects.create(account=acme, user_name="target@acme.example")
    response = scim_client(
        "PATCH", f"/Users/{user.scim_id}", json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
    )
    assert_scim_answer(response)
    assert DirectoryUser.objects.filter(account=acme, deleted_at__isnull=True, user_name="").count() == 0


@SLOW
@given(expression=filters, start=st.text(max_size=4), count=st.text(max_size=4), attributes=st.text(max_size=20))
def test_generated_query_parameters(acme_key, scim_client, expression, start, count, attributes):
    query = urlencode({"filter": expression, "startIndex": start, "count": count, "attributes": attributes})
    for path in ("/Users", "/Groups"):
        assert_scim_answer(scim_client("GET", f"{path}?{query}"))


@SLOW
@given(resource_id=st.text(max_size=40).filter(lambda s: "/" not in s and "?" not in s and "#" not in s))
def test_generated_ids(acme_key, scim_client, resource_id):
    for path in ("/Users/", "/Groups/"):
        assert_scim_answer(scim_client("GET", path + quote(resource_id)))
        assert_scim_answer(scim_client("DELETE", path + quote(resource_id)))

