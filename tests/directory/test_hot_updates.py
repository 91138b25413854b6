"""A profile update rewrites the user's row without touching its indexes (a HOT update)."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from directory.models import DirectoryUser

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's HOT updates")


def hot_updates() -> int:
    """HOT updates of the users table in this transaction so far."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'directory_directoryuser'"
        )
        return cursor.fetchone()[0]


def test_a_profile_put_to_a_user_on_a_page_of_many_is_a_hot_update(acme, scim_client):
    # Enough users to fill the first pages as far as inserts fill them.
    DirectoryUser.objects.bulk_create(
        DirectoryUser(account=acme, user_name=f"u{i}@acme.example", display_name=f"User {i}") for i in range(300)
    )
    first = DirectoryUser.objects.filter(account=acme).order_by("id").first()
    before = hot_updates()

    response = scim_client("PUT", f"/Users/{first.scim_id}", json.dumps({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": first.user_name, "displayName": first.display_name, "title": "Lead",
    }))

    assert response.status_code == 200 and response.json()["title"] == "Lead"
    assert hot_updates() == before + 1
