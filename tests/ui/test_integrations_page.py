"""The Integrations page in a real browser: the customer guide's steps, with the mouse, with the
keyboard alone, without JavaScript, on a phone, and across accounts."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from directory.models import DirectoryUser
from integrations import keys
from integrations.services import instance_create
from tests.scim_client import ScimClient

pytestmark = pytest.mark.browser

OKTA = "OKTA via SCIM"


def masked(key: str) -> str:
    return keys.masked(keys.parse_key(key).lookup)


def drawer(page: Page):
    return page.get_by_role("dialog", name=OKTA)


def focused_name(page: Page) -> str:
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          return (el.getAttribute('aria-label') || el.labels?.[0]?.textContent || el.textContent || '').trim();
        }"""
    )


def tab_to(page: Page, name: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused_name(page) == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_admin_adds_okta_copies_the_key_and_it_works_until_regenerated_or_deleted(
    open_page, live_server, scim_status, alice, acme
):
    page = open_page("alice@acme.example")
    card = page.get_by_role("article", name=OKTA)
    expect(card).to_contain_text("Not configured")

    page.get_by_role("button", name=f"Add instance: {OKTA}").click()
    expect(drawer(page)).to_be_visible()
    expect(drawer(page)).to_have_attribute("aria-modal", "true")
    expect(drawer(page).get_by_label("API Key Name")).to_be_focused()
    expect(drawer(page)).to_contain_text("can regenerate it")
    expect(drawer(page)).to_contain_text("userName")
    save = drawer(page).get_by_role("button", name="Save", exact=True)
    expect(save).to_be_disabled()

    drawer(page).get_by_label("API Key Name").fill("Okta production")
    key = drawer(page).get_by_label("API Key", exact=True).input_value()
    assert scim_status(key) == 401, "a shown key must not work before Save"
    base_url = drawer(page).get_by_label("SCIM connector base URL").input_value()
    assert base_url == f"{live_server.url}/scim/v1"

    drawer(page).get_by_role("button", name="Copy API key").click()
    expect(drawer(page).get_by_role("status").filter(has_text="Copied")).to_have_count(1)
    assert page.evaluate("navigator.clipboard.readText()") == key
    expect(drawer(page).get_by_label("I have copied the API key")).to_be_checked()
    expect(save).to_be_enabled()
    save.click()

    expect(drawer(page)).to_be_hidden()
    view = page.get_by_role("button", name=f"View instance: {OKTA}")
    expect(view).to_be_focused()
    expect(page.get_by_text("“Okta production” is saved")).to_be_visible()
    expect(card).to_contain_text("Active")
    assert key not in page.content()

    copied_key = key
    assert scim_status(copied_key) == 200
    okta = ScimClient(f"{live_server.url}/scim/v1", copied_key)
    assert okta.create_user("ann@acme.example").status_code == 201

    view.click()
    expect(drawer(page)).to_contain_text("Okta production")
    expect(drawer(page)).to_contain_text(masked(key))
    expect(drawer(page).get_by_role("table")).to_contain_text("ann@acme.example")
    expect(drawer(page).get_by_role("table")).to_contain_text("User created")
    expect(drawer(page).get_by_role("link", name="View all activity")).to_be_visible()
    assert key not in page.content()

    drawer(page).get_by_role("button", name="Regenerate key").click()
    confirm = page.get_by_role("alertdialog", name="Regenerate the API key?")
    expect(confirm).to_contain_text("stops working immediately")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name="Regenerate key").click()

    new_key = drawer(page).get_by_label("New API Key", exact=True).input_value()
    assert new_key != key
    assert scim_status(key) == 401
    assert scim_status(new_key) == 200
    done = drawer(page).get_by_role("button", name="Done")
    expect(done).to_be_disabled()
    drawer(page).get_by_role("button", name="Copy API key").click()
    assert page.evaluate("navigator.clipboard.readText()") == new_key
    done.click()
    expect(drawer(page)).to_contain_text(masked(new_key))
    expect(drawer(page).get_by_role("table")).to_contain_text("API key rejected")
    assert new_key not in page.content()

    drawer(page).get_by_role("button", name="Delete instance").click()
    confirm = page.get_by_role("alertdialog", name="Delete this instance?")
    expect(confirm).to_contain_text("stay in ActivTrak")
    confirm.get_by_role("button", name="Delete instance").click()

    expect(drawer(page)).to_be_hidden()
    expect(card).to_contain_text("Not configured")
    expect(page.get_by_role("button", name=f"Add instance: {OKTA}")).to_be_focused()
    assert scim_status(new_key) == 401
    assert DirectoryUser.objects.filter(account=acme, user_name="ann@acme.example").exists()


def test_the_whole_flow_works_with_the_keyboard_alone(open_page, scim_status, alice):
    page = open_page()
    page.goto("/accounts/login/")
    page.keyboard.type("alice@acme.example")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()
    add = page.get_by_role("button", name=f"Add instance: {OKTA}")

    tab_to(page, f"Add instance: {OKTA}")
    page.keyboard.press("Enter")
    name = drawer(page).get_by_label("API Key Name")
    expect(name).to_be_focused()
    page.keyboard.type("Okta keyboard")
    discarded_key = drawer(page).get_by_label("API Key", exact=True).input_value()

    # Escape with an unsaved key asks first; Cancel (focused first) keeps the drawer.
    page.keyboard.press("Escape")
    ask = page.get_by_role("alertdialog", name="Discard this API key?")
    expect(ask).to_be_visible()
    expect(ask.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Enter")
    expect(ask).to_be_hidden()
    expect(drawer(page)).to_be_visible()
    # Tab stays inside the drawer: nothing behind it takes focus.
    for _ in range(25):
        page.keyboard.press("Tab")
        assert page.evaluate(
            "document.activeElement === document.body || "
            "document.querySelector('dialog[open]').contains(document.activeElement)"
        )

    page.keyboard.press("Escape")
    expect(ask).to_be_visible()
    page.keyboard.press("Tab")
    assert focused_name(page) == "Discard key"
    page.keyboard.press("Enter")
    expect(drawer(page)).to_be_hidden()
    expect(add).to_be_focused()
    assert scim_status(discarded_key) == 401

    page.keyboard.press("Enter")
    expect(name).to_be_focused()
    page.keyboard.type("Okta keyboard")
    key = drawer(page).get_by_label("API Key", exact=True).input_value()
    tab_to(page, "Copy API key")
    page.keyboard.press("Enter")
    expect(drawer(page).get_by_label("I have copied the API key")).to_be_checked()
    tab_to(page, "Save")
    page.keyboard.press("Enter")

    view = page.get_by_role("button", name=f"View instance: {OKTA}")
    expect(view).to_be_focused()
    assert scim_status(key) == 200
    page.keyboard.press("Enter")
    expect(drawer(page)).to_contain_text("Okta keyboard")
    assert page.evaluate("document.querySelector('dialog[open]').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(drawer(page)).to_be_hidden()
    expect(view).to_be_focused()
    assert scim_status(key) == 200


def test_another_accounts_admin_cannot_see_or_act_on_the_instance(
    open_page, scim_status, acme, alice, charlie
):
    instance, key = instance_create(account=acme, name="Acme Okta", created_by=alice)
    page = open_page("charlie@globex.example")

    expect(page.get_by_role("article", name=OKTA)).to_contain_text("Not configured")
    assert "Acme Okta" not in page.content()
    base = f"/integrations/instances/{instance.pk}"
    for path in ("/", "/activity/", "/regenerate/", "/delete/"):
        assert page.goto(base + path).status == 404
    page.goto("/integrations/")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    for path, form in [
        ("/", {"name": "Taken over"}),
        ("/regenerate/", {"confirm": "yes"}),
        ("/delete/", {"confirm": "yes"}),
    ]:
        response = page.request.post(base + path, form={"csrfmiddlewaretoken": token, **form})
        assert response.status == 404
    instance.refresh_from_db()
    assert instance.name == "Acme Okta" and instance.deleted_at is None
    assert scim_status(key) == 200


def test_without_javascript_the_drawers_work_as_plain_pages(open_page, scim_status, alice):
    page = open_page("alice@acme.example", java_script_enabled=False)

    page.get_by_role("button", name=f"Add instance: {OKTA}").click()
    expect(page.get_by_role("heading", name=OKTA, level=1)).to_be_visible()
    # No JavaScript, no clipboard: the key is selected by hand and the Copy buttons stay hidden.
    expect(page.get_by_role("button", name="Copy API key")).to_be_hidden()
    key = page.get_by_label("API Key", exact=True).input_value()
    page.get_by_label("API Key Name").fill("Okta no-js")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Confirm that you copied the key")).to_be_visible()
    assert page.get_by_label("API Key", exact=True).input_value() == key
    page.get_by_label("I have copied the API key").check()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_text("“Okta no-js” is saved")).to_be_visible()
    assert scim_status(key) == 200
    page.get_by_role("button", name=f"View instance: {OKTA}").click()
    expect(page.get_by_role("heading", name=OKTA, level=1)).to_be_visible()
    expect(page.get_by_text(masked(key))).to_be_visible()

    page.get_by_role("button", name="Regenerate key").click()
    expect(page.get_by_text("stops working immediately")).to_be_visible()
    page.get_by_role("button", name="Regenerate key").click()
    new_key = page.get_by_label("New API Key", exact=True).input_value()
    assert scim_status(key) == 401 and scim_status(new_key) == 200
    page.get_by_role("button", name="Done").click()

    page.get_by_role("button", name="Delete instance").click()
    page.get_by_role("button", name="Delete instance").click()
    expect(page.get_by_text("is deleted")).to_be_visible()
    expect(page.get_by_role("article", name=OKTA)).to_contain_text("Not configured")
    assert scim_status(new_key) == 401


def test_the_page_and_the_drawer_fit_a_phone_screen(open_page, alice):
    page = open_page("alice@acme.example", viewport={"width": 390, "height": 844})

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name=f"Add instance: {OKTA}").click()
    expect(drawer(page)).to_be_visible()
    box = drawer(page).bounding_box()
    assert box["x"] >= 0 and box["width"] <= 390
    assert page.evaluate(
        "(() => { const b = document.querySelector('dialog[open] .panel__body');"
        " return b.scrollWidth <= b.clientWidth; })()"
    )
    expect(drawer(page).get_by_role("button", name="Copy API key")).to_be_in_viewport()
