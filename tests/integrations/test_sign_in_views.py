"""Admins sign in with email and password; failed attempts are limited through the database
(integrations/sign_in.py; over real HTTP in test_sign_in_throttle.py)."""

from __future__ import annotations

from django.db.models import F
from django.test import Client

from integrations.models import RequestCounter
from tests.conftest import ADMIN_PASSWORD

LOGIN = "/accounts/login/"


def sign_in(client: Client, email: str, password: str, **extra):
    return client.post(LOGIN, {"username": email, "password": password}, **extra)


def test_an_admin_signs_in_with_their_email_in_any_case(client, alice):
    response = sign_in(client, "  Alice@ACME.example", ADMIN_PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/integrations/"
    assert client.get("/integrations/").status_code == 200


def test_sign_in_goes_back_to_the_page_asked_for(client, alice):
    response = client.post(
        f"{LOGIN}?next=/integrations/okta_scim/",
        {"username": "alice@acme.example", "password": ADMIN_PASSWORD, "next": "/integrations/okta_scim/"},
    )
    assert response["Location"] == "/integrations/okta_scim/"


def test_a_wrong_password_says_so_without_saying_which_part_is_wrong(client, alice):
    response = sign_in(client, "alice@acme.example", "wrong password")

    assert response.status_code == 200
    assert "The email or password is not right" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_signing_out_needs_a_post(client, alice):
    client.force_login(alice)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/")["Location"] == LOGIN
    assert client.get("/integrations/").status_code == 302


def test_failed_sign_ins_are_limited_across_sessions_and_processes(client, alice, bob, settings):
    for _ in range(settings.SIGN_IN_FAILURE_LIMIT):
        assert sign_in(client, "alice@acme.example", "guess").status_code == 200

    # A fresh client (another session, as another worker process would see it) is blocked too,
    # even with the right password: the count lives in the database.
    other = Client()
    blocked = sign_in(other, "alice@acme.example", ADMIN_PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.content.decode()
    assert "_auth_user_id" not in other.session
    # Another admin from the same address is not locked out by alice's attacker.
    assert sign_in(Client(), "bob@acme.example", ADMIN_PASSWORD).status_code == 302
    # Nor is alice herself from another address.
    elsewhere = sign_in(Client(REMOTE_ADDR="203.0.113.9"), "alice@acme.example", ADMIN_PASSWORD)
    assert elsewhere.status_code == 302
    # Once the window has passed, alice can sign in again from here.
    RequestCounter.objects.update(window_index=F("window_index") - 1)
    assert sign_in(Client(), "alice@acme.example", ADMIN_PASSWORD).status_code == 302


def test_the_throttle_never_stores_the_typed_email(client, alice):
    sign_in(client, "alice@acme.example", "guess")

    scopes = " ".join(RequestCounter.objects.values_list("scope", flat=True))
    assert scopes and "alice" not in scopes


def test_a_success_clears_this_addresss_failures_for_the_email(client, alice):
    for _ in range(4):
        sign_in(client, "alice@acme.example", "guess")
    assert sign_in(client, "alice@acme.example", ADMIN_PASSWORD).status_code == 302
    client.post("/accounts/logout/")

    for _ in range(4):
        assert sign_in(client, "alice@acme.example", "guess").status_code == 200
    assert sign_in(client, "alice@acme.example", ADMIN_PASSWORD).status_code == 302


def test_many_emails_from_one_address_are_limited(client, alice, settings):
    settings.SIGN_IN_FAILURE_LIMIT_PER_ADDRESS = 3
    for number in range(3):
        sign_in(client, f"nobody{number}@example.com", "guess")

    assert sign_in(client, "alice@acme.example", ADMIN_PASSWORD).status_code == 429


def test_a_throttled_admin_sign_in_is_refused_with_one_query(
    client, alice, settings, django_assert_max_num_queries
):
    settings.SIGN_IN_FAILURE_LIMIT = 1
    client.post("/admin/login/", {"username": "alice@acme.example", "password": "guess"})

    with django_assert_max_num_queries(1):
        response = Client().post(
            "/admin/login/", {"username": "alice@acme.example", "password": ADMIN_PASSWORD}
        )
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
