"""The Integrations pages through Django's test client: the card and drawer flow as plain pages,
the one-time key, tenancy, confirmation and the security headers."""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client
from django.urls import reverse

from directory.models import DirectoryUser
from integrations import keys
from integrations.forms import KEY_EXPIRED
from integrations.models import ApiKey, IntegrationInstance
from integrations.services import api_key_authenticate, event_record, instance_create

NEW_OKTA = reverse("integrations:instance-new", args=["okta_scim"])
INDEX = reverse("integrations:index")


def shown_key(response) -> str:
    match = re.search(r'id="api-key"[^>]*value="(atk_scim_[0-9A-Za-z]+)"', response.content.decode())
    assert match, "no key field in the page"
    return match.group(1)


def detail_url(instance: IntegrationInstance, action: str = "detail") -> str:
    return reverse(f"integrations:instance-{action}", args=[instance.pk])


@pytest.fixture
def alice_client(client, alice) -> Client:
    client.force_login(alice)
    return client


@pytest.fixture
def okta(acme, alice) -> tuple[IntegrationInstance, str]:
    return instance_create(account=acme, name="Okta production", created_by=alice)


def test_pages_need_a_signed_in_account_admin(client, django_user_model, okta):
    response = client.get(INDEX)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get(detail_url(okta[0])).status_code == 302

    loner = django_user_model.objects.create_user("loner@example.com", password="x")
    client.force_login(loner)
    response = client.get(INDEX)
    assert response.status_code == 403
    assert b"not an account admin" in response.content


def test_the_root_url_leads_to_the_integrations_page(alice_client):
    assert alice_client.get("/")["Location"] == INDEX


def test_integrations_page_shows_a_card_per_provider_with_distinct_button_names(alice_client):
    response = alice_client.get(INDEX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "APIs &amp; Integrations" in html and "<h1 class=\"page-title\">Integrations</h1>" in html
    assert 'aria-label="Add instance: OKTA via SCIM"' in html
    assert 'aria-label="Add instance: Entra ID via SCIM"' in html
    assert html.count("Not configured") == 2
    assert "View Instance" not in html


def test_opening_the_add_drawer_shows_a_key_that_works_only_once_saved(alice_client):
    response = alice_client.get(NEW_OKTA)

    key = shown_key(response)
    assert keys.parse_key(key) is not None
    assert "no-store" in response["Cache-Control"]
    assert api_key_authenticate(key).failure == "unknown"
    assert ApiKey.objects.count() == 0
    # The session holds only the digest: a leaked session row cannot become a working key.
    session_text = str(dict(alice_client.session))
    assert key not in session_text and keys.digest_key(key) in session_text
    assert "Copy API key" in response.content.decode()
    assert "Copy SCIM base URL" in response.content.decode()
    assert "http://testserver/scim/v1" in response.content.decode()


def test_saving_stores_the_shown_key_and_never_shows_it_again(alice_client, alice, acme, caplog):
    caplog.set_level(logging.DEBUG)
    key = shown_key(alice_client.get(NEW_OKTA))

    response = alice_client.post(
        NEW_OKTA, {"name": "  Okta   production ", "key": key, "acknowledged": "yes"}
    )

    assert response.status_code == 302 and response["Location"] == INDEX
    instance = IntegrationInstance.objects.get(account=acme)
    assert instance.name == "Okta production" and instance.created_by == alice
    assert api_key_authenticate(key).api_key.instance == instance
    for url in (INDEX, detail_url(instance), detail_url(instance, "activity")):
        page = alice_client.get(url).content.decode()
        assert key not in page
    detail = alice_client.get(detail_url(instance)).content.decode()
    assert keys.masked(key[len("atk_scim_") :][:8]) in detail
    assert "Never" in detail
    index = alice_client.get(INDEX).content.decode()
    assert 'aria-label="View instance: OKTA via SCIM"' in index
    assert all(key not in record.getMessage() for record in caplog.records)
    # The same key cannot be saved twice.
    again = alice_client.post(NEW_OKTA, {"name": "Second", "key": key, "acknowledged": "yes"})
    assert KEY_EXPIRED in again.content.decode()
    assert IntegrationInstance.objects.count() == 1


def test_save_needs_the_acknowledgement_and_a_unique_trimmed_name(alice_client, acme, okta):
    key = shown_key(alice_client.get(NEW_OKTA))

    cases = [
        ({"name": "Okta staging"}, "Confirm that you copied the key"),
        ({"name": "   ", "acknowledged": "yes"}, "Enter a name for the API key."),
        ({"name": " okta   PRODUCTION ", "acknowledged": "yes"}, "already exists"),
        ({"name": "x" * 101, "acknowledged": "yes"}, "at most 100 characters"),
    ]
    for data, error in cases:
        response = alice_client.post(NEW_OKTA, {"key": key, **data})
        html = response.content.decode()
        assert response.status_code == 200
        assert error in html
        # The same unsaved key is shown again, so a copied key stays the right one.
        assert shown_key(response) == key
        assert 'aria-invalid="true"' in html
    assert IntegrationInstance.objects.filter(account=acme).count() == 1
    assert api_key_authenticate(key).failure == "unknown"


def test_save_refuses_a_key_this_session_was_not_given(alice_client, client_factory, bob, acme):
    forged = keys.generate_key()
    response = alice_client.post(NEW_OKTA, {"name": "Forged", "key": forged, "acknowledged": "y"})

    assert KEY_EXPIRED in response.content.decode()
    assert shown_key(response) != forged
    # Nor a key shown to a teammate's session, nor one shown for another provider.
    bobs = client_factory(bob)
    bobs_key = shown_key(bobs.get(NEW_OKTA))
    response = alice_client.post(NEW_OKTA, {"name": "Bob's", "key": bobs_key, "acknowledged": "y"})
    assert KEY_EXPIRED in response.content.decode()
    entra_key = shown_key(alice_client.get(reverse("integrations:instance-new", args=["entra_scim"])))
    response = alice_client.post(NEW_OKTA, {"name": "Mixed", "key": entra_key, "acknowledged": "y"})
    assert KEY_EXPIRED in response.content.decode()
    assert not IntegrationInstance.objects.filter(account=acme).exists()


@pytest.fixture
def client_factory(db):
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def test_unknown_providers_are_404s(alice_client):
    assert alice_client.get("/integrations/slack_scim/new/").status_code == 404


def test_drawer_requests_get_the_bare_panel_and_close_with_a_focus_target(alice_client):
    response = alice_client.get(NEW_OKTA, headers={"X-Drawer": "1"})

    html = response.content.decode()
    assert "<html" not in html and 'id="drawer-title"' in html
    assert "X-Drawer" in response["Vary"]
    saved = alice_client.post(
        NEW_OKTA,
        {"name": "Okta", "key": shown_key(response), "acknowledged": "yes"},
        headers={"X-Drawer": "1"},
    )
    assert saved.status_code == 204 and saved["X-Drawer-Close"] == "view-okta_scim"


def test_the_card_counts_several_instances(alice_client, acme):
    instance_create(account=acme, name="Okta one")
    instance_create(account=acme, name="Okta two")

    html = alice_client.get(INDEX).content.decode()

    assert 'aria-label="View instances: OKTA via SCIM, 2 instances"' in html
    assert "2 instances" in html
    listing = alice_client.get(reverse("integrations:instance-list", args=["okta_scim"]))
    assert "Okta one" in listing.content.decode() and "Okta two" in listing.content.decode()


def test_renaming_trims_and_refuses_a_taken_name(alice_client, acme, okta):
    instance, _ = okta
    instance_create(account=acme, name="Okta staging")

    response = alice_client.post(detail_url(instance), {"name": "  Okta   prod "})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.name == "Okta prod"

    response = alice_client.post(detail_url(instance), {"name": "OKTA STAGING"})
    assert "already exists" in response.content.decode()
    instance.refresh_from_db()
    assert instance.name == "Okta prod"


def test_regenerate_needs_a_confirmed_post_and_shows_the_new_key_once(alice_client, okta):
    instance, old_key = okta

    confirm_page = alice_client.get(detail_url(instance, "regenerate"))
    assert confirm_page.status_code == 200
    assert "stops working immediately" in confirm_page.content.decode()
    unconfirmed = alice_client.post(detail_url(instance, "regenerate"))
    assert "Regenerate the API key?" in unconfirmed.content.decode()
    assert api_key_authenticate(old_key).failure is None

    response = alice_client.post(detail_url(instance, "regenerate"), {"confirm": "yes"})

    new_key = shown_key(response)
    assert "no-store" in response["Cache-Control"]
    assert api_key_authenticate(old_key).failure == "revoked"
    assert api_key_authenticate(new_key).failure is None
    assert new_key not in alice_client.get(detail_url(instance)).content.decode()


def test_delete_stops_the_key_and_keeps_provisioned_users(alice_client, acme, okta):
    instance, key = okta
    DirectoryUser.objects.create(account=acme, user_name="ann@acme.example")

    assert alice_client.get(detail_url(instance, "delete")).status_code == 200
    assert IntegrationInstance.objects.get(pk=instance.pk).deleted_at is None
    response = alice_client.post(detail_url(instance, "delete"), {"confirm": "yes"})

    assert response.status_code == 302 and response["Location"] == INDEX
    assert api_key_authenticate(key).failure == "deleted"
    assert DirectoryUser.objects.filter(account=acme, user_name="ann@acme.example").exists()
    assert alice_client.get(detail_url(instance)).status_code == 404
    assert alice_client.get(INDEX).content.decode().count("Not configured") == 2


@pytest.mark.parametrize(
    ("method", "action", "data"),
    [
        ("get", "detail", {}),
        ("get", "activity", {}),
        ("get", "regenerate", {}),
        ("get", "delete", {}),
        ("post", "detail", {"name": "Pwned"}),
        ("post", "regenerate", {"confirm": "yes"}),
        ("post", "delete", {"confirm": "yes"}),
    ],
)
def test_another_accounts_admin_gets_404_and_changes_nothing(
    client, charlie, okta, method, action, data
):
    instance, key = okta
    client.force_login(charlie)

    response = getattr(client, method)(detail_url(instance, action), data)

    assert response.status_code == 404
    instance.refresh_from_db()
    assert instance.name == "Okta production" and instance.deleted_at is None
    assert api_key_authenticate(key).failure is None
    assert "Okta production" not in client.get(INDEX).content.decode()


def test_a_teammate_sees_and_manages_the_same_instances(client, bob, okta):
    client.force_login(bob)
    assert client.get(detail_url(okta[0])).status_code == 200


def test_activity_shows_this_instances_events_newest_first_and_marks_failures(
    alice_client, acme, okta, globex
):
    instance, _ = okta
    other, _ = instance_create(account=acme, name="Other")
    for number in range(12):
        event_record(
            account=acme, instance=instance, action="user.create", status_code=201,
            target_type="User", target_display=f"user{number}@acme.example",
        )
    event_record(
        account=acme, instance=instance, action="auth.failure", status_code=401,
        detail="GET /scim/v1/Users: revoked",
    )
    event_record(
        account=acme, instance=other, action="user.create", status_code=201,
        target_display="elsewhere@acme.example",
    )

    detail = alice_client.get(detail_url(instance)).content.decode()
    assert "API key rejected" in detail and "events__row--failure" in detail
    assert "user3@acme.example" in detail and "user2@acme.example" not in detail  # latest 10
    assert "elsewhere@acme.example" not in detail
    assert "Last error" in detail and "revoked" in detail

    full = alice_client.get(detail_url(instance, "activity")).content.decode()
    assert "user0@acme.example" in full and "elsewhere@acme.example" not in full
    assert full.index("API key rejected") < full.index("user11@acme.example")
    failures = alice_client.get(detail_url(instance, "activity"), {"outcome": "failure"})
    assert "user0@acme.example" not in failures.content.decode()
    assert "Failed · 401" in failures.content.decode()


def test_the_card_needs_attention_when_the_latest_request_failed(alice_client, acme, okta):
    instance, _ = okta
    event_record(account=acme, instance=instance, action="auth.failure", status_code=401)

    assert "Needs attention" in alice_client.get(INDEX).content.decode()

    event_record(account=acme, instance=instance, action="user.create", status_code=201)
    assert "Needs attention" not in alice_client.get(INDEX).content.decode()


def test_pages_use_a_fixed_number_of_queries(alice_client, acme, okta, django_assert_max_num_queries):
    for number in range(5):
        instance_create(account=acme, name=f"Okta {number}")
        event_record(account=acme, instance=okta[0], action="user.create", status_code=201)

    # Session, user, membership, then one query for the cards.
    with django_assert_max_num_queries(4):
        alice_client.get(INDEX)
    with django_assert_max_num_queries(7):
        alice_client.get(detail_url(okta[0]))
    with django_assert_max_num_queries(6):
        alice_client.get(detail_url(okta[0], "activity"))


def test_pages_send_a_content_security_policy_and_refuse_framing(alice_client):
    response = alice_client.get(INDEX)

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"


def test_forms_refuse_posts_without_a_csrf_token(alice, okta):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    for action in ("regenerate", "delete"):
        response = client.post(detail_url(okta[0], action), {"confirm": "yes"})
        assert response.status_code == 403
    assert api_key_authenticate(okta[1]).failure is None


def test_entra_uses_the_same_card_and_drawer(alice_client, acme):
    new_entra = reverse("integrations:instance-new", args=["entra_scim"])
    response = alice_client.get(new_entra)
    assert "Entra ID via SCIM" in response.content.decode()
    assert "Secret Token" in response.content.decode()

    alice_client.post(new_entra, {"name": "Entra", "key": shown_key(response), "acknowledged": "y"})

    instance = IntegrationInstance.objects.get(account=acme)
    assert instance.kind == IntegrationInstance.KIND_ENTRA_SCIM
    html = alice_client.get(INDEX).content.decode()
    assert 'aria-label="View instance: Entra ID via SCIM"' in html
    assert 'aria-label="Add instance: OKTA via SCIM"' in html and html.count("Not configured") == 1


def test_renaming_in_the_drawer_stays_in_the_drawer_and_refreshes_the_cards(alice_client, okta):
    response = alice_client.post(
        detail_url(okta[0]), {"name": "Okta renamed"}, headers={"X-Drawer": "1"}
    )

    assert response.status_code == 200 and response["X-Drawer-Refresh"] == "1"
    assert "Name saved." in response.content.decode() and "<html" not in response.content.decode()


def test_key_changes_appear_in_the_activity_but_not_as_provisioning(alice_client, alice, acme, okta):
    from integrations.models import ProvisioningEvent
    from integrations.selectors import instance_activity, instances_for_account
    from integrations.services import api_key_revoke

    instance, _ = okta
    event_record(account=acme, instance=instance, action="user.create", status_code=201, target_display="ann@acme.example")
    before = instances_for_account(account=acme).get(pk=instance.pk)

    alice_client.post(detail_url(instance, "regenerate"), {"confirm": "yes"})
    api_key_revoke(instance=instance, revoked_by=alice)

    detail = alice_client.get(detail_url(instance)).content.decode()
    assert "API key regenerated" in detail and "API key revoked" in detail
    assert f"by {alice.get_username()}" in alice_client.get(detail_url(instance, "activity")).content.decode()
    after = instances_for_account(account=acme).get(pk=instance.pk)
    assert (after.last_event_at, after.last_event_outcome) == (before.last_event_at, "success")
    activity = instance_activity(instance=instance)
    assert (activity.succeeded_24h, activity.failed_24h) == (1, 0)
    assert [e.action for e in activity.recent][:2] == ["key.revoke", "key.regenerate"]

    alice_client.post(detail_url(instance, "delete"), {"confirm": "yes"})
    deleted = ProvisioningEvent.objects.filter(instance=instance, action="instance.delete").get()
    assert deleted.detail == f"by {alice.get_username()}" and deleted.target_display == instance.name
