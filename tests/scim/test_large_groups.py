"""Large groups: a PATCH on a group past SCIM_PATCH_RESPONSE_MAX_MEMBERS answers 204 instead of
rendering every member, with the same number of queries; small groups keep the 200 with members."""

from __future__ import annotations

import json

from tests.scim.test_query_counts import make_groups, make_users

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def add_members(users) -> str:
    value = [{"value": str(u.scim_id)} for u in users]
    return json.dumps({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": value}]})


def test_patch_on_a_group_over_the_limit_answers_204_and_still_applies(acme, acme_key, scim_client, settings, django_assert_max_num_queries):
    settings.SCIM_PATCH_RESPONSE_MAX_MEMBERS = 5
    users = make_users(acme, 8)
    group = make_groups(acme, users[:5], 1)[0]

    with django_assert_max_num_queries(24):
        patched = scim_client("PATCH", f"/Groups/{group.scim_id}", add_members(users[5:]))
    after = scim_client("GET", f"/Groups/{group.scim_id}")

    assert patched.status_code == 204 and patched.content == b""
    assert patched["ETag"] == after["ETag"]
    assert len(after.json()["members"]) == 8


def test_patch_on_a_group_at_the_limit_answers_200_with_every_member(acme, acme_key, scim_client, settings):
    settings.SCIM_PATCH_RESPONSE_MAX_MEMBERS = 5
    users = make_users(acme, 5)
    group = make_groups(acme, users[:3], 1)[0]

    patched = scim_client("PATCH", f"/Groups/{group.scim_id}", add_members(users[3:]))

    assert patched.status_code == 200
    assert sorted(m["value"] for m in patched.json()["members"]) == sorted(str(u.scim_id) for u in users)


def test_another_tenants_key_cannot_patch_a_large_group(acme, globex, acme_key, key_factory, client, settings):
    settings.SCIM_PATCH_RESPONSE_MAX_MEMBERS = 1
    group = make_groups(acme, make_users(acme, 3), 1)[0]
    globex_key = key_factory(globex)

    response = client.patch(
        f"/scim/v1/Groups/{group.scim_id}", data=add_members(make_users(globex, 1, start=10)),
        content_type="application/scim+json", HTTP_AUTHORIZATION=f"Bearer {globex_key}",
    )

    assert response.status_code == 404


def test_members_are_read_from_the_listing_index_alone(acme):
    """Every read of a group's members (GET, Okta's connection test, PUT's diff) is an
    index-only scan: from the table, with a sort, a 50,000-member group took three times as long."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from directory.sql import group_member_values, group_members_by_scim_id

    groups = make_groups(acme, make_users(acme, 30), 2)
    with CaptureQueriesContext(connection) as reads:
        group_member_values([group.pk for group in groups])
        group_members_by_scim_id(groups[0].pk)
    assert len(reads.captured_queries) == 2
    with connection.cursor() as cursor:
        # A table this small would be read whole; ask what the index can do.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for read in reads.captured_queries:
            cursor.execute("EXPLAIN " + read["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Index Only Scan using directory_membership_listing" in plan, plan
