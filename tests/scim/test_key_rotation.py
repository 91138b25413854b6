"""Key rotation over real HTTP: the old key keeps working beside the new one until the new key's
first request or the overlap's end, then answers a 401 that says it was replaced."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.core.management import CommandError, call_command
from django.utils import timezone

from integrations.models import ApiKey, IntegrationInstance, ProvisioningEvent
from integrations.services import api_key_regenerate, api_key_rotate

REPLACED = "replaced by a rotation"


def get_users(live_server, key: str) -> requests.Response:
    return requests.get(
        f"{live_server.url}/scim/v1/Users",
        headers={"Authorization": f"Bearer {key}", "Accept": "application/scim+json"},
        timeout=30,
    )


def lifecycle(instance) -> list[str]:
    """The instance's key events, oldest first."""
    return list(
        ProvisioningEvent.objects.filter(instance=instance, action__startswith="key.")
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


@pytest.fixture
def instance(acme, acme_key) -> IntegrationInstance:
    return IntegrationInstance.objects.get(account=acme)


def test_old_key_works_during_the_overlap_until_the_new_key_is_first_used(live_server, instance, acme_key):
    _, new_key = api_key_rotate(instance=instance, overlap=timedelta(hours=24))

    assert get_users(live_server, acme_key).status_code == 200
    assert get_users(live_server, acme_key).status_code == 200
    assert lifecycle(instance) == ["key.rotate"]

    assert get_users(live_server, new_key).status_code == 200
    refused = get_users(live_server, acme_key)

    assert refused.status_code == 401
    assert REPLACED in refused.json()["detail"]
    assert get_users(live_server, new_key).status_code == 200
    assert lifecycle(instance) == ["key.rotate", "key.first_use", "key.retire"]
    retired = ProvisioningEvent.objects.get(instance=instance, action="key.retire")
    assert "Okta used the new key" in retired.detail
    failure = ProvisioningEvent.objects.get(instance=instance, action="auth.failure")
    assert "replaced" in failure.detail


def test_the_overlap_window_end_retires_the_old_key_without_the_new_key_being_used(
    live_server, instance, acme_key
):
    api_key_rotate(instance=instance, overlap=timedelta(hours=1))
    assert get_users(live_server, acme_key).status_code == 200
    window_end = timezone.now() - timedelta(minutes=5)
    # An hour and five minutes later, as seen from the rotation:
    ApiKey.objects.filter(instance=instance, replaces__isnull=True).update(retires_at=window_end)
    ProvisioningEvent.objects.filter(action="key.rotate").update(created_at=window_end - timedelta(hours=1))

    refused = get_users(live_server, acme_key)

    assert refused.status_code == 401 and REPLACED in refused.json()["detail"]
    retired = ProvisioningEvent.objects.get(instance=instance, action="key.retire")
    assert retired.created_at == window_end and "overlap window ended" in retired.detail
    get_users(live_server, acme_key)
    assert lifecycle(instance) == ["key.rotate", "key.retire"]


def test_no_overlap_retires_the_old_key_at_once_like_regenerate(live_server, instance, acme_key):
    _, new_key = api_key_rotate(instance=instance, overlap=timedelta(0))

    refused = get_users(live_server, acme_key)

    assert refused.status_code == 401 and REPLACED in refused.json()["detail"]
    assert get_users(live_server, new_key).status_code == 200
    assert lifecycle(instance) == ["key.rotate", "key.retire", "key.first_use"]


def test_regenerate_during_an_overlap_revokes_both_keys_at_once(live_server, instance, acme_key):
    _, rotated = api_key_rotate(instance=instance)

    fresh = api_key_regenerate(instance=instance)

    for old in (acme_key, rotated):
        refused = get_users(live_server, old)
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert get_users(live_server, fresh).status_code == 200


def test_rotating_again_retires_the_key_still_overlapping_from_the_first_rotation(
    live_server, instance, acme_key
):
    _, second = api_key_rotate(instance=instance)
    _, third = api_key_rotate(instance=instance)

    assert get_users(live_server, acme_key).status_code == 401
    assert get_users(live_server, second).status_code == 200
    assert get_users(live_server, third).status_code == 200
    assert get_users(live_server, second).status_code == 401
    assert lifecycle(instance) == [
        "key.rotate", "key.retire", "key.rotate", "key.first_use", "key.first_use", "key.retire"
    ]
    first_retirement = (
        ProvisioningEvent.objects.filter(instance=instance, action="key.retire").order_by("created_at").first()
    )
    assert "rotated again" in first_retirement.detail


def test_concurrent_first_requests_with_the_new_key_retire_the_old_key_once(
    live_server, instance, acme_key
):
    _, new_key = api_key_rotate(instance=instance)

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: get_users(live_server, new_key).status_code, range(12)))

    assert statuses == [200] * 12
    assert lifecycle(instance) == ["key.rotate", "key.first_use", "key.retire"]
    assert get_users(live_server, acme_key).status_code == 401


def test_rotate_scim_key_prints_the_new_key_alone_on_the_last_line(live_server, instance, acme_key):
    out = io.StringIO()

    call_command(
        "rotate_scim_key", "--account", "acme", "--name", "okta production", "--overlap-hours", "1",
        stdout=out,
    )

    lines = out.getvalue().splitlines()
    new_key = lines[-1]
    assert new_key.startswith("atk_scim_") and " " not in new_key
    assert "works until the new key's first request" in lines[0]
    assert get_users(live_server, acme_key).status_code == 200
    assert get_users(live_server, new_key).status_code == 200
    assert get_users(live_server, acme_key).status_code == 401
    old = ApiKey.objects.get(instance=instance, replaces__isnull=True)
    assert old.retired_at is not None and old.retired_at - old.created_at < timedelta(hours=1)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--account", "acme", "--name", "Nope"], "No API key named 'Nope'"),
        (["--account", "globex", "--name", "Okta production"], "No API key named"),
        (["--account", "acme", "--name", "Okta production", "--overlap-hours", "200"], "0 to 168"),
    ],
)
def test_rotate_scim_key_refuses_unknown_names_other_accounts_and_long_overlaps(
    instance, globex, arguments, message
):
    with pytest.raises(CommandError, match=message):
        call_command("rotate_scim_key", *arguments, stdout=io.StringIO())
    assert ApiKey.objects.filter(instance=instance).count() == 1
