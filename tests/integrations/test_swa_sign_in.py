"""Okta SWA's login page address, /auth/v2/authenticate, serves the product sign-in over real
HTTP: a form a password manager or Okta's SWA plugin fills, and a POST that signs in."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.integrations.sign_in_browser import SignInBrowser, signed_in

SWA = "/auth/v2/authenticate"


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.inputs: dict[str, dict] = {}
        self.buttons: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append(attributes)
        elif tag == "input" and self.forms:
            self.inputs[attributes.get("name", "")] = attributes
        elif tag == "button" and self.forms:
            self.buttons.append(attributes)


@pytest.mark.parametrize("page", [SWA, "/accounts/login/"])
def test_the_sign_in_form_is_one_a_password_manager_fills(live_server, db, page):
    response = SignInBrowser(live_server.url).session.get(live_server.url + page)
    assert response.status_code == 200
    form = _Form()
    form.feed(response.text)

    assert len(form.forms) == 1
    assert form.forms[0]["method"] == "post" and form.forms[0]["action"] == page
    assert form.inputs["username"]["autocomplete"] == "username"
    assert form.inputs["password"]["autocomplete"] == "current-password"
    assert form.inputs["password"]["type"] == "password"
    assert "csrfmiddlewaretoken" in form.inputs
    assert [button.get("type") for button in form.buttons] == ["submit"]


@pytest.mark.parametrize("email", ["alice@acme.example", "  Alice@ACME.example"])
def test_posting_to_the_swa_address_signs_in(live_server, alice, email):
    browser = SignInBrowser(live_server.url)
    response = browser.sign_in(SWA, email, ADMIN_PASSWORD)

    assert signed_in(response) and response.headers["Location"] == "/integrations/"
    assert browser.session.get(live_server.url + "/integrations/").status_code == 200


def test_a_wrong_password_at_the_swa_address_says_so(live_server, alice):
    response = SignInBrowser(live_server.url).sign_in(SWA, "alice@acme.example", "wrong")

    assert response.status_code == 200
    assert "The email or password is not right" in response.text
    assert "sessionid" not in response.cookies


def test_the_swa_address_is_throttled_like_the_sign_in_page(live_server, alice, settings):
    settings.SIGN_IN_FAILURE_LIMIT = 2
    browser = SignInBrowser(live_server.url)
    # Failures at one address count at the other: one throttle behind both.
    assert browser.sign_in("/accounts/login/", "alice@acme.example", "wrong").status_code == 200
    assert browser.sign_in(SWA, "alice@acme.example", "wrong").status_code == 200
    assert browser.sign_in(SWA, "alice@acme.example", ADMIN_PASSWORD).status_code == 429
