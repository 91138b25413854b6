"""Signing in at Okta SWA's login page address in Chromium, with the keyboard alone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


def test_an_admin_signs_in_at_the_swa_address_with_the_keyboard(open_page, alice):
    page = open_page()
    page.goto("/auth/v2/authenticate")

    # The email field has focus on arrival, as SWA's plugin and password managers expect.
    expect(page.get_by_label("Email")).to_be_focused()
    expect(page.get_by_label("Email")).to_have_attribute("autocomplete", "username")
    expect(page.get_by_label("Password")).to_have_attribute("autocomplete", "current-password")
    page.keyboard.type("alice@acme.example")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()
    assert page.url.endswith("/integrations/")


def test_a_throttled_sign_in_at_the_swa_address_says_to_wait(open_page, alice, settings):
    settings.SIGN_IN_FAILURE_LIMIT = 1
    page = open_page()
    page.goto("/auth/v2/authenticate")
    page.get_by_label("Email").fill("alice@acme.example")
    page.get_by_label("Password").fill("wrong")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("not right")

    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text(
        re.compile(r"Too many failed sign-ins\. Wait \d+ minutes? and try again\.")
    )
