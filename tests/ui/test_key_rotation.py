"""Rotate key in a real browser, with the mouse and with the keyboard alone: choose the window,
copy the new key, acknowledge, and see both keys' state and the activity entries."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from integrations import keys
from integrations.services import instance_create
from tests.ui.test_integrations_page import OKTA, drawer, tab_to

pytestmark = pytest.mark.browser


def masked(key: str) -> str:
    return keys.masked(keys.parse_key(key).lookup)


def key_states(page: Page):
    return drawer(page).locator("#key-states")


def test_admin_rotates_the_key_with_the_mouse_and_okta_moves_over_without_a_gap(
    open_page, scim_status, acme, alice
):
    _, old_key = instance_create(account=acme, name="Okta production", created_by=alice)
    page = open_page("alice@acme.example")
    page.get_by_role("button", name=f"View instance: {OKTA}").click()

    drawer(page).get_by_role("button", name="Rotate key").click()
    expect(drawer(page)).to_contain_text("Okta production · Rotate key")
    expect(drawer(page).get_by_label("24 hours")).to_be_checked()
    drawer(page).get_by_text("7 days").click()
    drawer(page).get_by_role("button", name="Rotate key").click()

    new_key = drawer(page).get_by_label("New API Key", exact=True).input_value()
    expect(drawer(page)).to_contain_text(f"The old key {masked(old_key)} keeps working until Okta first uses the new key")
    done = drawer(page).get_by_role("button", name="Done")
    expect(done).to_be_disabled()
    drawer(page).get_by_role("button", name="Copy API key").click()
    assert page.evaluate("navigator.clipboard.readText()") == new_key
    expect(drawer(page).get_by_label("I have copied the new API key")).to_be_checked()
    done.click()

    expect(key_states(page)).to_contain_text(masked(new_key))
    expect(key_states(page)).to_contain_text("not used by Okta yet")
    expect(key_states(page)).to_contain_text(f"{masked(old_key)}")
    expect(key_states(page)).to_contain_text("Old key retires when Okta first uses the new one, or at")
    expect(drawer(page).get_by_role("table")).to_contain_text("API key rotated")
    assert new_key not in page.content()
    assert scim_status(old_key) == 200

    assert scim_status(new_key) == 200
    assert scim_status(old_key) == 401
    drawer(page).get_by_role("button", name="Close").click()
    page.get_by_role("button", name=f"View instance: {OKTA}").click()
    expect(key_states(page)).to_have_count(0)
    expect(drawer(page)).to_contain_text(masked(new_key))
    table = drawer(page).get_by_role("table")
    for entry in ("API key rotated", "New API key first used", "Old API key retired", "API key rejected"):
        expect(table).to_contain_text(entry)


def test_admin_rotates_the_key_with_the_keyboard_alone(open_page, scim_status, acme, alice):
    _, old_key = instance_create(account=acme, name="Okta production", created_by=alice)
    page = open_page("alice@acme.example")

    tab_to(page, f"View instance: {OKTA}")
    page.keyboard.press("Enter")
    expect(drawer(page)).to_contain_text("Okta production")
    tab_to(page, "Rotate key")
    page.keyboard.press("Enter")
    expect(drawer(page).get_by_label("24 hours")).to_be_checked()
    # Tab enters the radio group on its checked choice; the arrow keys move the choice.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type === 'radio'"):
            break
    expect(drawer(page).get_by_label("24 hours")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(drawer(page).get_by_label("1 hour")).to_be_checked()
    expect(drawer(page).get_by_label("1 hour")).to_be_focused()
    tab_to(page, "Rotate key")
    page.keyboard.press("Enter")

    new_key = drawer(page).get_by_label("New API Key", exact=True).input_value()
    tab_to(page, "Copy API key")
    page.keyboard.press("Enter")
    expect(drawer(page).get_by_label("I have copied the new API key")).to_be_checked()
    tab_to(page, "Done")
    page.keyboard.press("Enter")

    expect(key_states(page)).to_contain_text(masked(new_key))
    expect(key_states(page)).to_contain_text("Retiring")
    # The drawer is modal: the next Tab lands inside it, never on the page behind.
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('dialog[open]').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(drawer(page)).to_be_hidden()
    assert scim_status(old_key) == 200 and scim_status(new_key) == 200
    assert scim_status(old_key) == 401
