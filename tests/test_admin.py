"""Operators find everything in Django admin; keys show their prefix, never their digest."""

from __future__ import annotations

import pytest
from django.urls import reverse

from directory.models import Agent, DirectoryUser, Group, GroupMembership
from integrations.models import ApiKey, ProvisioningEvent


@pytest.fixture
def populated(scim, acme):
    ann = scim.create_user("ann@acme.example").json()
    scim.create_group("Finance", [ann["id"]])
    scim.session.headers["Authorization"] = "Bearer nope"
    scim.get("/Users")
    Agent.objects.create(account=acme, user=DirectoryUser.objects.get(scim_id=ann["id"]), logon_name="ACME\\ann")
    return ann


@pytest.mark.parametrize(
    "model",
    ["account", "accountmember", "directoryuser", "group", "groupmembership", "agent"],
)
def test_directory_changelists_and_search_work(admin_client, populated, model):
    url = reverse(f"admin:directory_{model}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "ann"}).status_code == 200


@pytest.mark.parametrize("model", ["integrationinstance", "apikey", "provisioningevent"])
def test_integration_changelists_and_search_work(admin_client, populated, model):
    url = reverse(f"admin:integrations_{model}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "acme"}).status_code == 200


def test_key_pages_show_the_prefix_and_never_the_digest(admin_client, populated):
    key = ApiKey.objects.first()
    listing = admin_client.get(reverse("admin:integrations_apikey_changelist")).content.decode()
    detail = admin_client.get(reverse("admin:integrations_apikey_change", args=[key.pk])).content.decode()
    instance = admin_client.get(reverse("admin:integrations_integrationinstance_change", args=[key.instance_id])).content.decode()

    for page in (listing, detail, instance):
        assert key.digest not in page
    assert key.masked in listing and key.masked in detail and key.masked in instance


def test_event_filters_and_user_detail_with_emails(admin_client, populated):
    failures = admin_client.get(reverse("admin:integrations_provisioningevent_changelist"), {"outcome__exact": "failure"})
    assert failures.status_code == 200 and "auth.failure" in failures.content.decode()
    user = DirectoryUser.objects.get(scim_id=populated["id"])
    detail = admin_client.get(reverse("admin:directory_directoryuser_change", args=[user.pk]))
    assert detail.status_code == 200 and "ann@acme.example" in detail.content.decode()
    group = Group.objects.get()
    assert admin_client.get(reverse("admin:directory_group_change", args=[group.pk])).status_code == 200
    assert GroupMembership.objects.count() == 1 and ProvisioningEvent.objects.count() == 4


def test_admin_deactivate_action_removes_access(admin_client, populated):
    user = DirectoryUser.objects.get(scim_id=populated["id"])
    response = admin_client.post(
        reverse("admin:directory_directoryuser_changelist"),
        {"action": "deactivate", "_selected_action": [user.pk]},
    )
    user.refresh_from_db()
    assert response.status_code == 302 and not user.is_active
