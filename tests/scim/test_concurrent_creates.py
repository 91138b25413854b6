"""Okta sometimes fires the same POST /Users twice at once: exactly one user must result."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from directory.models import DirectoryUser
from tests.scim_client import ScimClient


def test_racing_creates_of_one_user_name_give_one_201_and_409s(live_server, acme_key):
    def create(index: int):
        client = ScimClient(f"{live_server.url}/scim/v1", acme_key)
        return client.create_user("Race.Winner@acme.example" if index % 2 else "race.winner@ACME.example")

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, range(8)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 7
    assert all(r.json()["scimType"] == "uniqueness" for r in responses if r.status_code == 409)
    assert DirectoryUser.objects.filter(user_name__iexact="race.winner@acme.example").count() == 1
