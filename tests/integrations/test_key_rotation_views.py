"""Rotate key on View Instance through Django's test client: the window choice, the key shown
once, both keys' state, the activity entries, the card's last request and tenancy."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations import keys
from integrations.models import ApiKey, IntegrationInstance, ProvisioningEvent
from integrations.selectors import instance_activity
from integrations.services import (
    api_key_authenticate,
    api_key_rotate,
    instance_create,
    key_authenticate,
)


def url(instance: IntegrationInstance, action: str = "detail") -> str:
    return reverse(f"integrations:instance-{action}", args=[instance.pk])


def masked(key: str) -> str:
    return keys.masked(keys.parse_key(key).lookup)


@pytest.fixture
def alice_client(client, alice) -> Client:
    client.force_login(alice)
    return client


@pytest.fixture
def okta(acme, alice) -> tuple[IntegrationInstance, str]:
    return instance_create(account=acme, name="Okta production", created_by=alice)


def test_rotate_asks_for_the_window_then_shows_the_new_key_once_and_both_keys_state(alice_client, okta):
    instance, old_key = okta
    form = alice_client.get(url(instance, "rotate")).content.decode()
    assert 'value="24" id="id_overlap_hours_2" checked' in form
    assert ApiKey.objects.count() == 1

    response = alice_client.post(url(instance, "rotate"), {"overlap_hours": "1"})

    page = response.content.decode()
    new_key = re.search(r'id="api-key"[^>]*value="(atk_scim_[0-9A-Za-z]+)"', page).group(1)
    assert "keeps working until Okta first uses the new key" in page
    assert api_key_authenticate(old_key).failure is None
    assert api_key_authenticate(new_key).failure is None
    detail = alice_client.get(url(instance)).content.decode()
    assert new_key not in detail
    assert masked(new_key) in detail and masked(old_key) in detail
    assert "Old key retires when Okta first uses the new one, or at" in detail
    assert "API key rotated" in detail
    old = ApiKey.objects.get(replaced_by__isnull=False)
    assert timedelta(minutes=59) < old.retires_at - timezone.now() <= timedelta(hours=1)


def test_rotate_refuses_a_window_not_offered(alice_client, okta):
    response = alice_client.post(url(okta[0], "rotate"), {"overlap_hours": "5"})

    assert response.status_code == 200
    assert "Choose no overlap, 1 hour, 24 hours or 7 days." in response.content.decode()
    assert ApiKey.objects.count() == 1


def test_another_accounts_admin_cannot_rotate_the_key(client, charlie, okta):
    client.force_login(charlie)

    assert client.post(url(okta[0], "rotate"), {"overlap_hours": "0"}).status_code == 404
    assert ApiKey.objects.count() == 1 and api_key_authenticate(okta[1]).failure is None


def test_rotation_entries_are_in_the_activity_but_the_card_keeps_the_last_request(
    alice_client, alice, okta
):
    instance, old_key = okta
    key_authenticate(f"Bearer {old_key}", model=ApiKey)
    used_at = ApiKey.objects.get().last_used_at
    _, new_key = api_key_rotate(instance=instance, created_by=alice)

    index = alice_client.get(reverse("integrations:index")).content.decode()
    assert "Last request" in index and "Waiting for the first request" not in index

    key_authenticate(f"Bearer {new_key}", model=ApiKey)
    activity = alice_client.get(url(instance, "activity")).content.decode()
    for label in ("API key rotated", "New API key first used", "Old API key retired"):
        assert label in activity
    assert f"by {alice.get_username()}" in activity
    summary = instance_activity(instance=instance)
    assert (summary.succeeded_24h, summary.failed_24h) == (0, 0)
    assert ApiKey.objects.get(pk=ApiKey.objects.get(replaces__isnull=True).pk).last_used_at == used_at


def test_a_window_that_ended_is_recorded_when_the_instance_is_next_viewed(alice_client, okta):
    instance, _ = okta
    api_key_rotate(instance=instance, overlap=timedelta(hours=1))
    window_end = timezone.now() - timedelta(seconds=1)
    ApiKey.objects.filter(replaces__isnull=True).update(retires_at=window_end)

    detail = alice_client.get(url(instance)).content.decode()
    alice_client.get(url(instance))

    assert "Old API key retired" in detail and "Retiring" not in detail
    retired = ProvisioningEvent.objects.get(action="key.retire")
    assert retired.created_at == window_end


def test_the_view_instance_drawer_during_a_rotation_costs_one_query_more(
    alice_client, okta, django_assert_max_num_queries
):
    api_key_rotate(instance=okta[0])

    with django_assert_max_num_queries(8):  # the 7 pinned for View Instance, and the rotation
        response = alice_client.get(url(okta[0]))

    assert "Retiring" in response.content.decode()
