"""The stored number of live users per account (kept by database triggers) equals a live count
after every kind of user change, under concurrent SCIM creates, and while rows are folded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from directory.models import Account, DirectoryUser, LiveUserTally
from tests.directory.test_agent_counts import run_in_threads

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def live(account) -> int:
    return DirectoryUser.objects.for_account(account).count()


def tally_rows(account) -> int:
    return LiveUserTally.objects.filter(account_id=account.pk).count()


def user_body(name: str) -> dict:
    return {"schemas": [USER_SCHEMA], "userName": name, "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": name, "type": "work", "primary": True}], "active": True}


def test_tally_follows_every_kind_of_user_change(acme, globex):
    assert LiveUserTally.total(acme) == 0
    tyler = DirectoryUser.objects.create(account=acme, user_name="tyler@acme.example")
    DirectoryUser.objects.bulk_create(
        DirectoryUser(account=acme, user_name=f"bulk{i}@acme.example") for i in range(5)
    )
    DirectoryUser.objects.create(account=globex, user_name="other@globex.example")
    assert (LiveUserTally.total(acme), LiveUserTally.total(globex)) == (6, 1)

    tyler.deleted_at = timezone.now()  # SCIM DELETE tombstones the row
    tyler.save()
    assert LiveUserTally.total(acme) == live(acme) == 5
    tyler.is_active = False  # changes that keep a user live or deleted change nothing
    tyler.save()
    DirectoryUser.objects.filter(account=acme).update(title="Analyst")
    assert LiveUserTally.total(acme) == 5
    tyler.deleted_at = None  # restored by an operator
    tyler.save()
    assert LiveUserTally.total(acme) == live(acme) == 6

    DirectoryUser.objects.filter(user_name__in=["bulk0@acme.example", "bulk1@acme.example"]).delete()
    assert LiveUserTally.total(acme) == live(acme) == 4
    DirectoryUser.objects.filter(account=acme, user_name="bulk2@acme.example").update(
        deleted_at=timezone.now()
    )
    assert LiveUserTally.total(acme) == live(acme) == 3
    assert LiveUserTally.total(globex) == live(globex) == 1

    acme_pk = acme.pk
    acme.delete()  # the cascade deletes the users, then the account's rows go too
    assert not LiveUserTally.objects.filter(account_id=acme_pk).exists()
    assert LiveUserTally.total(globex) == 1


def test_many_changes_are_folded_into_one_row_without_changing_the_total(acme):
    for i in range(LiveUserTally.FOLD_AFTER_ROWS + 5):
        DirectoryUser.objects.create(account=acme, user_name=f"u{i}@acme.example")
    DirectoryUser.objects.filter(user_name="u0@acme.example").delete()
    expected = LiveUserTally.FOLD_AFTER_ROWS + 4
    assert tally_rows(acme) == LiveUserTally.FOLD_AFTER_ROWS + 6
    assert LiveUserTally.total(acme) == expected  # this read folds
    assert tally_rows(acme) == 1
    assert LiveUserTally.total(acme) == live(acme) == expected


def test_scim_pages_report_the_tally_as_total_results(acme, scim):
    for i in range(3):
        assert scim.post("/Users", user_body(f"p{i}@acme.example")).status_code == 201
    DirectoryUser.objects.create(account=acme, user_name="admin-made@acme.example")
    page = scim.get("/Users?startIndex=1&count=2").json()
    assert page["totalResults"] == 4 and page["itemsPerPage"] == 2
    victim = page["Resources"][0]["id"]
    assert scim.delete(f"/Users/{victim}").status_code == 204
    page = scim.get("/Users?startIndex=1&count=100").json()
    assert page["totalResults"] == 3 == len(page["Resources"])


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_and_folds_lose_no_count(live_server):
    from integrations.services import instance_create
    from tests.scim_client import ScimClient

    account = Account.objects.create(slug="busy", name="Busy")
    _, key = instance_create(account=account, name="Okta")
    scim = ScimClient(f"{live_server.url}/scim/v1", key)

    def create(i: int) -> int:
        return scim.post("/Users", user_body(f"c{i}@busy.example")).status_code

    def fold_repeatedly() -> None:
        for _ in range(30):
            LiveUserTally.fold(account)

    with ThreadPoolExecutor(max_workers=8) as pool:
        creating = [pool.submit(create, i) for i in range(120)]
        errors = run_in_threads(fold_repeatedly, fold_repeatedly)  # while the creates run
        statuses = [future.result() for future in creating]
    assert errors == []
    assert statuses == [201] * 120
    connection.close()
    assert LiveUserTally.total(account) == live(account) == 120
