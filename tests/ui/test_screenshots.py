"""The screenshots in docs/ui.md, taken from the real pages.

    UPDATE_SCREENSHOTS=1 bin/test tests/ui/test_screenshots.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.scim_client import ScimClient

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
OKTA = "OKTA via SCIM"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.environ.get("UPDATE_SCREENSHOTS"), reason="set UPDATE_SCREENSHOTS=1 to retake them"
    ),
]


def test_take_the_screenshots_for_the_docs(open_page, live_server, settings, acme, alice):
    settings.SCIM_PUBLIC_BASE_URL = "https://api.activtrak.com/scim/v1"
    acme.name = "Acme Corp"
    acme.save()
    DOCS.mkdir(parents=True, exist_ok=True)
    page = open_page("alice@acme.example", viewport={"width": 1280, "height": 820})

    page.screenshot(path=DOCS / "integrations-empty.png")

    page.get_by_role("button", name=f"Add instance: {OKTA}").click()
    drawer = page.get_by_role("dialog", name=OKTA)
    drawer.get_by_label("API Key Name").fill("Okta production")
    drawer.get_by_role("button", name="Copy API key").click()
    expect(drawer.get_by_role("button", name="Save", exact=True)).to_be_enabled()
    page.screenshot(path=DOCS / "add-instance-drawer.png")
    key = drawer.get_by_label("API Key", exact=True).input_value()
    drawer.get_by_role("button", name="Save", exact=True).click()
    expect(drawer).to_be_hidden()

    okta = ScimClient(f"{live_server.url}/scim/v1", key)
    people = [("ann", "Ann", "Lee"), ("bob", "Bob", "Ray"), ("cho", "Cho", "Kim")]
    ids = [okta.create_user(f"{n}@acme.example", given, family).json()["id"] for n, given, family in people]
    okta.create_group("Finance", ids[:2])
    okta.create_user("ANN@acme.example")  # a 409 for the activity list
    okta.patch(f"/Users/{ids[2]}", [{"op": "replace", "value": {"active": False}}])
    page.reload()
    page.screenshot(path=DOCS / "integrations-configured.png")

    page.get_by_role("button", name=f"View instance: {OKTA}").click()
    expect(page.get_by_role("dialog", name=OKTA).get_by_role("table")).to_be_visible()
    page.screenshot(path=DOCS / "view-instance-drawer.png")

    drawer = page.get_by_role("dialog", name=OKTA)
    drawer.get_by_role("button", name="Rotate key").click()
    expect(drawer.get_by_label("24 hours")).to_be_checked()
    page.screenshot(path=DOCS / "rotate-key-drawer.png")
    drawer.get_by_role("button", name="Rotate key").click()
    drawer.get_by_role("button", name="Copy API key").click()
    expect(drawer.get_by_role("button", name="Done")).to_be_enabled()
    page.screenshot(path=DOCS / "rotate-key-new-key.png")
    drawer.get_by_role("button", name="Done").click()
    expect(drawer.locator("#key-states")).to_be_visible()
    drawer.locator("#key-states").scroll_into_view_if_needed()
    page.screenshot(path=DOCS / "view-instance-rotating.png")

    phone = open_page("alice@acme.example", viewport={"width": 390, "height": 844})
    phone.get_by_role("button", name=f"Add instance: {OKTA}").click()
    expect(phone.get_by_role("dialog", name=OKTA)).to_be_visible()
    phone.screenshot(path=DOCS / "add-instance-phone.png")


def test_take_the_sign_in_and_guide_screenshots(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 820})
    page = context.new_page()
    page.goto(f"{live_server.url}/auth/v2/authenticate")
    expect(page.get_by_label("Email")).to_be_visible()
    page.screenshot(path=DOCS / "swa-sign-in.png")
    page.goto(f"{live_server.url}/help/okta-setup/#troubleshooting")
    expect(page.get_by_role("heading", name="Troubleshooting")).to_be_visible()
    page.screenshot(path=DOCS / "okta-setup-guide.png")
    context.close()
