"""Hostile input at the agent check-in API and the Agents page, over real HTTP against a live
server: every variant answers in the API's own format (DRF JSON) or a form message, never a 500
and never HTML from the API."""

from __future__ import annotations

import html

import pytest
import requests

from directory.models import Agent
from integrations.keys import generate_key
from integrations.services import agent_key_regenerate
from tests.conftest import ADMIN_PASSWORD
from tests.integrations.sign_in_browser import CSRF_FIELD, SignInBrowser, signed_in

CHECK_IN = "/api/agents/v1/check-in"


@pytest.fixture
def agent_key(acme) -> str:
    return agent_key_regenerate(account=acme)


def post(live_server, agent_key: str, data: bytes, **headers) -> requests.Response:
    return requests.post(
        live_server.url + CHECK_IN,
        data=data,
        headers={
            "Authorization": f"Bearer {agent_key}",
            "Content-Type": "application/json",
            **headers,
        },
        timeout=60,
    )


def assert_json_error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    body = response.json()
    assert body, body
    return body


@pytest.mark.parametrize(
    "logon_name",
    [
        "a" * 256,  # bare, longer than the user part's column, within logon_name's
        "a" * 320,
        "ACME\\" + "a" * 256,  # DOMAIN\name with a long name
        "D" * 256 + "\\tyler",  # DOMAIN\name with a long domain
        "a" * 256 + "@acme.example",  # long local part
        "tyler@" + "d" * 256,  # long domain
        "a" * 321,  # longer than logon_name itself
    ],
)
def test_over_long_logons_are_a_400_naming_the_field(live_server, agent_key, logon_name):
    body = f'{{"logon_name": "{logon_name.replace(chr(92), chr(92) * 2)}", "machine_name": "M"}}'
    error = assert_json_error(post(live_server, agent_key, body.encode()), 400)
    assert "logon_name" in str(error)
    assert not Agent.objects.exists()


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_json_is_a_400(live_server, agent_key, depth, opener):
    closer = "]" if opener == "[" else "}"
    nested = opener * depth + "1" + closer * depth
    body = f'{{"logon_name": {nested}, "machine_name": "M"}}'.encode()
    if len(body) > 60_000:
        body = (opener * depth + "1" + closer * depth).encode()[:60_000]
    error = assert_json_error(post(live_server, agent_key, body), 400)
    assert "detail" in error


@pytest.mark.parametrize("size", [70_000, 3_000_000, 20_000_000])
def test_large_bodies_are_a_json_413(live_server, agent_key, size):
    filler = "x" * size
    body = f'{{"logon_name": "tyler@acme.example", "machine_name": "{filler}"}}'.encode()
    error = assert_json_error(post(live_server, agent_key, body), 413)
    assert "bytes" in error["detail"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"logon_name": "ty\\u0000ler@acme.example", "machine_name": "M"}',
        b'{"logon_name": "tyler@acme.example", "machine_name": "M\\u0000"}',
        b'{"logon_name": ["tyler"], "machine_name": "M"}',
        b'{"logon_name": "tyler@acme.example", "machine_name": {"a": 1}}',
        b'["tyler@acme.example"]',
        b'"just a string"',
        b"\xff\xfe not utf-8",
        b'{"logon_name": "tyler@acme.example", "machine_name": "M"',
    ],
)
def test_wrong_types_nuls_and_broken_json_are_400s(live_server, agent_key, body):
    assert_json_error(post(live_server, agent_key, body), 400)
    assert not Agent.objects.exists()


def test_wrong_agent_keys_count_per_client_address_like_scim(live_server, agent_key, settings):
    settings.SCIM_AUTH_FAILURE_LIMIT = 3
    guesses = [generate_key(prefix="atk_agent_") for _ in range(4)]
    body = b'{"logon_name": "tyler@acme.example", "machine_name": "M"}'
    statuses = [post(live_server, guess, body).status_code for guess in guesses]
    assert statuses == [401, 401, 401, 429]
    # A valid key is never held up by the address's failures.
    assert post(live_server, agent_key, body).status_code == 201


@pytest.mark.parametrize(
    ("user_name", "message"),
    [
        ("x\x00", "Enter the userName"),
        ("\x00", "Enter the userName"),
        ("a" * 400, "Enter the userName"),
        ("nobody@acme.example", "No user named"),
    ],
)
def test_the_agents_page_answers_bad_assignments_with_a_message(
    live_server, alice, acme, user_name, message
):
    stray = Agent.objects.create(
        account=acme, logon_name="kiosk@acme.example", logon_user="kiosk",
        logon_domain="acme.example", machine_name="KIOSK",
    )
    browser = SignInBrowser(live_server.url)
    assert signed_in(browser.sign_in("/accounts/login/", alice.email, ADMIN_PASSWORD))
    page = browser.session.get(live_server.url + "/agents/", timeout=30)
    token = CSRF_FIELD.search(page.text).group(1)
    response = browser.session.post(
        live_server.url + "/agents/",
        data={"csrfmiddlewaretoken": token, "action": "assign", "agent": str(stray.public_id),
              "user_name": user_name},
        headers={"Referer": live_server.url + "/agents/"},
        timeout=30,
    )
    assert response.status_code == 200, response.status_code
    assert message in response.text
    stray.refresh_from_db()
    assert stray.user is None


@pytest.mark.parametrize(
    ("user_name", "message"),
    [("x\x00", "Null characters are not allowed."), ("a" * 400, "at most 320 characters")],
)
def test_the_admin_assign_action_answers_bad_names_with_a_message(
    live_server, acme, user_name, message
):
    from django.contrib.auth import get_user_model

    stray = Agent.objects.create(
        account=acme, logon_name="kiosk@acme.example", logon_user="kiosk",
        logon_domain="acme.example", machine_name="KIOSK",
    )
    get_user_model().objects.create_superuser("op@operator.example", "op@operator.example", ADMIN_PASSWORD)
    browser = SignInBrowser(live_server.url)
    assert signed_in(browser.sign_in("/admin/login/", "op@operator.example", ADMIN_PASSWORD))
    page = browser.session.get(live_server.url + "/admin/directory/agent/", timeout=30)
    token = CSRF_FIELD.search(page.text).group(1)
    response = browser.session.post(
        live_server.url + "/admin/directory/agent/",
        data={"csrfmiddlewaretoken": token, "action": "assign_to_user",
              "_selected_action": [stray.pk], "user_name": user_name},
        headers={"Referer": live_server.url + "/admin/directory/agent/"},
        timeout=30,
    )
    assert response.status_code == 200, response.status_code
    assert message in html.unescape(response.text)
    stray.refresh_from_db()
    assert stray.user is None
