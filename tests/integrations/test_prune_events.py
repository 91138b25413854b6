"""Retention of provisioning events: `manage.py prune_events` deletes old events in batches, and
the activity pages say how long history is kept."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import requests
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.models import ProvisioningEvent
from integrations.services import instance_create


def event_aged(account, instance, days: float, name: str) -> ProvisioningEvent:
    return ProvisioningEvent.objects.create(
        account=account, instance=instance, action="user.create", outcome="success",
        status_code=201, target_display=name, created_at=timezone.now() - timedelta(days=days),
    )


def prune(*args: str) -> str:
    out = StringIO()
    call_command("prune_events", *args, stdout=out)
    return out.getvalue()


def remaining() -> set[str]:
    return set(ProvisioningEvent.objects.values_list("target_display", flat=True))


def test_events_older_than_the_days_given_are_deleted_and_newer_ones_kept(acme, globex):
    acme_okta, _ = instance_create(account=acme, name="Okta")
    globex_okta, _ = instance_create(account=globex, name="Okta")
    ProvisioningEvent.objects.all().delete()
    event_aged(acme, acme_okta, 31, "acme-old")
    event_aged(globex, globex_okta, 400, "globex-ancient")
    event_aged(acme, acme_okta, 29, "acme-recent")
    event_aged(globex, globex_okta, 0, "globex-today")

    output = prune("--days", "30")

    assert remaining() == {"acme-recent", "globex-today"}
    assert "Deleted 2 provisioning events older than 30 days" in output


def test_the_default_comes_from_the_retention_setting(acme, settings):
    okta, _ = instance_create(account=acme, name="Okta")
    ProvisioningEvent.objects.all().delete()
    settings.PROVISIONING_EVENT_RETENTION_DAYS = 180
    event_aged(acme, okta, 181, "past-retention")
    event_aged(acme, okta, 179, "within-retention")

    output = prune()

    assert remaining() == {"within-retention"}
    assert "Deleted 1 provisioning event older than 180 days" in output


def test_events_are_deleted_in_batches_of_one_statement_each(acme):
    okta, _ = instance_create(account=acme, name="Okta")
    ProvisioningEvent.objects.all().delete()
    for number in range(5):
        event_aged(acme, okta, 200 + number, f"old-{number}")
    event_aged(acme, okta, 1, "new")

    with CaptureQueriesContext(connection) as queries:
        output = prune("--days", "100", "--batch-size", "2")

    deletes = [query["sql"] for query in queries if query["sql"].startswith("DELETE")]
    # 2 + 2 + 1: the short last batch says nothing is left, with no extra statement.
    assert len(deletes) == 3
    assert all(re.search(r"LIMIT 2\b", sql) for sql in deletes)
    assert len(queries) == 3, "each batch is one DELETE, with no SELECT of ids beforehand"
    assert remaining() == {"new"}
    assert "Deleted 5 provisioning events" in output


def test_nothing_to_delete_says_so(acme):
    ProvisioningEvent.objects.all().delete()
    assert "Deleted 0 provisioning events" in prune("--days", "1")


def test_the_activity_pages_say_how_long_history_is_kept(live_server, client, alice, acme, settings):
    settings.PROVISIONING_EVENT_RETENTION_DAYS = 90
    instance, _ = instance_create(account=acme, name="Okta production", created_by=alice)
    client.force_login(alice)
    cookies = {"sessionid": client.cookies["sessionid"].value}

    for name in ("integrations:instance-detail", "integrations:instance-activity"):
        page = requests.get(
            live_server.url + reverse(name, args=[instance.pk]), cookies=cookies, timeout=30
        )
        assert page.status_code == 200
        assert "Activity is kept for 90 days." in page.text
