"""Playwright fixtures: one headless Chromium per module, a fresh browser context per test,
against pytest-django's live server (PostgreSQL in bin/test)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import ADMIN_PASSWORD

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
# between browser steps are still plain synchronous code.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, live_server) -> Iterator[Callable[..., Page]]:
    """open_page(email=None, **context_options): a new page, signed in as ``email`` if given."""
    contexts = []

    def open_(email: str | None = None, **options) -> Page:
        options.setdefault("viewport", {"width": 1280, "height": 800})
        options.setdefault("reduced_motion", "reduce")
        context = browser.new_context(base_url=live_server.url, **options)
        if options.get("java_script_enabled", True):
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        contexts.append(context)
        page = context.new_page()
        if email:
            page.goto("/accounts/login/")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(ADMIN_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def scim_status(live_server) -> Callable[[str], int]:
    """What Okta would get for GET /Users with this key."""

    def status(key: str) -> int:
        response = requests.get(
            f"{live_server.url}/scim/v1/Users",
            headers={"Authorization": f"Bearer {key}", "Accept": "application/scim+json"},
            timeout=30,
        )
        return response.status_code

    return status
