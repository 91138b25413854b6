"""The Users page merge flow and the Groups page counts, in headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from directory.agent_services import agent_check_in
from directory.models import Agent, DirectoryUser, Group, GroupMembership

pytestmark = pytest.mark.browser


@pytest.fixture
def tyler(acme):
    user = DirectoryUser.objects.create(account=acme, user_name="tyler@acme.example", display_name="Tyler Durden")
    agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name="TYLER-LAPTOP", os="Windows 11")
    agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name="TYLER-DESKTOP", os="macOS 15")
    group = Group.objects.create(account=acme, display_name="Project Mayhem")
    GroupMembership.objects.create(group=group, user=user)
    return user, group


def test_admin_merges_tylers_agents_from_the_users_page_and_the_group_counts_him_once(open_page, alice, tyler):
    _, group = tyler
    page = open_page(alice.email)

    page.get_by_role("link", name="Groups", exact=True).click()
    row = page.get_by_role("row", name="Project Mayhem")
    expect(row).to_contain_text("2")
    expect(row.get_by_role("link", name="Users with several agents")).to_be_visible()

    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name="Several agents").click()
    page.get_by_role("link", name="Tyler Durden").click()
    expect(page.get_by_role("heading", name="Agents (2 counted)")).to_be_visible()
    page.get_by_role("radio", name="Keep TYLER-LAPTOP").check()
    page.get_by_role("checkbox", name="Merge TYLER-DESKTOP").check()
    page.get_by_role("button", name="Merge agents").click()

    expect(page.get_by_text("Merged 1 agent into TYLER-LAPTOP.")).to_be_visible()
    expect(page.get_by_role("heading", name="Agents (1 counted)")).to_be_visible()
    assert Agent.objects.get(machine_name="TYLER-DESKTOP").merged_into.machine_name == "TYLER-LAPTOP"

    page.goto(f"/groups/{group.scim_id}/")
    expect(page.get_by_test_id("user-total")).to_have_text("1 user")
    expect(page.get_by_test_id("agent-total")).to_have_text("1 agent")

    page.goto(f"/users/{tyler[0].scim_id}/")
    page.get_by_role("button", name="Unmerge TYLER-DESKTOP").click()
    expect(page.get_by_role("heading", name="Agents (2 counted)")).to_be_visible()


def test_groups_page_explains_why_counts_differ(open_page, alice, tyler, acme):
    _, group = tyler
    newcomer = DirectoryUser.objects.create(account=acme, user_name="newbie@acme.example")
    GroupMembership.objects.create(group=group, user=newcomer)
    page = open_page(alice.email)

    page.goto(f"/groups/{group.scim_id}/")

    expect(page.get_by_test_id("user-total")).to_have_text("2 users")
    expect(page.get_by_test_id("agent-total")).to_have_text("2 agents")
    explanation = page.get_by_test_id("count-explanation")
    expect(explanation).to_contain_text("1 member has several agents")
    expect(explanation).to_contain_text("1 member has no agent yet")
    expect(page.get_by_text("read-only here")).to_be_visible()


def test_another_accounts_admin_cannot_open_tylers_page(open_page, charlie, tyler):
    page = open_page(charlie.email)
    response = page.goto(f"/users/{tyler[0].scim_id}/")
    assert response.status == 404
    page.goto("/users/")
    expect(page.get_by_text("tyler@acme.example")).to_have_count(0)
