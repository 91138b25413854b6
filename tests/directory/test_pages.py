"""The Users and Groups pages through Django's test client: scoping, counts, merge."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from directory.agent_services import agent_check_in, agents_merge
from directory.models import AccountMember, Agent, DirectoryUser, Group, GroupMembership


@pytest.fixture
def admin_of(client):
    def sign_in(account):
        login = get_user_model().objects.create_user(username=f"admin@{account.slug}.example", email=f"admin@{account.slug}.example", password="pw-123-abc-XYZ")
        AccountMember.objects.create(user=login, account=account)
        client.force_login(login)
        return client

    return sign_in


@pytest.fixture
def tyler(acme):
    user = DirectoryUser.objects.create(account=acme, user_name="tyler@acme.example", display_name="Tyler Durden")
    agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name="TYLER-LAPTOP")
    agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name="TYLER-DESKTOP")
    group = Group.objects.create(account=acme, display_name="Project Mayhem")
    GroupMembership.objects.create(group=group, user=user)
    return user, group


def test_users_page_lists_status_agents_and_filters(admin_of, acme, tyler):
    client = admin_of(acme)
    DirectoryUser.objects.create(account=acme, user_name="marla@acme.example", is_active=False)

    page = client.get("/users/").content.decode()
    several = client.get("/users/", {"status": "several-agents"}).content.decode()
    no_agent = client.get("/users/", {"status": "no-agent"}).content.decode()
    searched = client.get("/users/", {"q": "MARLA"}).content.decode()

    assert "Tyler Durden" in page and "marla@acme.example" in page and "Deactivated" in page
    assert "tyler@acme.example" in several and "marla@acme.example" not in several
    assert "marla@acme.example" in no_agent and "tyler@acme.example" not in no_agent
    assert "marla@acme.example" in searched and "Tyler" not in searched


def test_agent_filters_ignore_unassigned_agents_merged_aliases_and_other_accounts(admin_of, acme, globex, tyler):
    user, _ = tyler
    client = admin_of(acme)
    DirectoryUser.objects.create(account=acme, user_name="marla@acme.example")
    agent_check_in(account=acme, logon_name="nobody@acme.example", machine_name="KIOSK")  # unassigned
    bob = DirectoryUser.objects.create(account=acme, user_name="bob@acme.example")
    agent_check_in(account=acme, logon_name="bob@acme.example", machine_name="BOB-1")
    agent_check_in(account=acme, logon_name="bob@acme.example", machine_name="BOB-2")
    first, second = bob.agents.order_by("id")
    agents_merge(primary=first, others=[second])
    outsider = DirectoryUser.objects.create(account=globex, user_name="marla@acme.example")
    agent_check_in(account=globex, logon_name="marla@acme.example", machine_name="GLOBEX-1")
    assert outsider.agents.count() == 1

    no_agent = client.get("/users/", {"status": "no-agent"}).content.decode()
    several = client.get("/users/", {"status": "several-agents"}).content.decode()

    assert "marla@acme.example" in no_agent
    assert "bob@acme.example" not in no_agent and "tyler@acme.example" not in no_agent
    assert "tyler@acme.example" in several
    assert "bob@acme.example" not in several and "marla@acme.example" not in several


def test_merge_flow_changes_group_counts_and_unmerge_restores(admin_of, acme, tyler):
    user, group = tyler
    client = admin_of(acme)
    laptop, desktop = Agent.objects.order_by("id")
    assert "2 agents" in client.get(f"/groups/{group.scim_id}/").content.decode()

    client.post(f"/users/{user.scim_id}/merge-agents/", {"primary": laptop.public_id, "others": [desktop.public_id]})
    after = client.get(f"/groups/{group.scim_id}/").content.decode()
    client.post(f"/users/{user.scim_id}/unmerge-agent/", {"agent": desktop.public_id})

    assert "1 agent" in after and "1 user" in after
    assert group.agent_member_count() == 2


def test_groups_page_explains_differing_counts(admin_of, acme, tyler):
    _, group = tyler
    client = admin_of(acme)
    page = client.get("/groups/").content.decode()
    detail = client.get(f"/groups/{group.scim_id}/").content.decode()
    assert "Project Mayhem" in page and "Users with several agents" in page
    assert "several agents" in detail and "status=several-agents" in detail


def test_okta_groups_are_read_only_and_product_groups_editable(admin_of, acme, tyler):
    user, okta_group = tyler
    client = admin_of(acme)

    refused = client.post(f"/groups/{okta_group.scim_id}/", {"action": "rename", "display_name": "Hacked"}, follow=True)
    created = client.post("/groups/", {"display_name": "Night shift"})
    product = Group.objects.get(display_name="Night shift")
    client.post(f"/groups/{product.scim_id}/", {"action": "add", "user_name": "TYLER@acme.example"})
    duplicate = client.post("/groups/", {"display_name": "project mayhem"})

    okta_group.refresh_from_db()
    assert okta_group.display_name == "Project Mayhem"
    assert "managed by your identity provider" in refused.content.decode()
    assert created.status_code == 302 and product.source == "product"
    assert list(product.members.all()) == [user]
    assert duplicate.status_code == 200 and "already exists" in duplicate.content.decode()


def test_another_accounts_admin_gets_404s(admin_of, globex, tyler):
    user, group = tyler
    client = admin_of(globex)
    agent = Agent.objects.first()

    assert client.get(f"/users/{user.scim_id}/").status_code == 404
    assert client.get(f"/groups/{group.scim_id}/").status_code == 404
    assert client.post(f"/users/{user.scim_id}/merge-agents/", {"primary": agent.public_id}).status_code == 404
    assert "tyler" not in client.get("/users/").content.decode()
    assert "Project Mayhem" not in client.get("/groups/").content.decode()


def test_users_page_queries_do_not_grow_with_users(admin_of, acme, tyler, django_assert_max_num_queries):
    client = admin_of(acme)
    DirectoryUser.objects.bulk_create(DirectoryUser(account=acme, user_name=f"u{i}@acme.example") for i in range(120))
    with django_assert_max_num_queries(10):
        assert client.get("/users/").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get("/groups/").status_code == 200


def test_agents_page_assigns_by_hand_and_shows_a_new_key_once(admin_of, acme, tyler, live_server):
    import requests

    user, _ = tyler
    stray, _ = agent_check_in(account=acme, logon_name="ACME\\td", machine_name="KIOSK")
    client = admin_of(acme)

    listing = client.get("/agents/").content.decode()
    client.post("/agents/", {"action": "assign", "agent": stray.public_id, "user_name": "TYLER@acme.example"})
    generated = client.post("/agents/", {"action": "regenerate-key"})
    again = client.get("/agents/").content.decode()

    stray.refresh_from_db()
    assert "KIOSK" in listing and stray.user == user and stray.is_manually_assigned
    key = generated.content.decode().split('id="agent-key" type="text" value="')[1].split('"')[0]
    assert key.startswith("atk_agent_") and "no-store" in generated["Cache-Control"]
    assert key not in again and key[:18] in again
    check_in = requests.post(
        f"{live_server.url}/api/agents/v1/check-in",
        json={"logon_name": "tyler@acme.example", "machine_name": "NEW-PC"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert check_in.status_code == 201 and check_in.json()["user"]["userName"] == "tyler@acme.example"


def test_users_page_totals_come_from_the_tally_and_small_counts(admin_of, acme, globex):
    """Licensed users and each list's total are right with deleted and deactivated users about,
    and no query counts the account's users row by row (70 ms at 100,000 users)."""
    from django.db import connection
    from django.utils import timezone

    from directory.views import PAGE_SIZE

    client = admin_of(acme)
    total = PAGE_SIZE * 2 + 5
    DirectoryUser.objects.bulk_create(
        DirectoryUser(account=acme, user_name=f"u{i}@acme.example", is_active=i % 10 != 0) for i in range(total)
    )
    DirectoryUser.objects.bulk_create(DirectoryUser(account=globex, user_name=f"g{i}@globex.example") for i in range(7))
    gone = DirectoryUser.objects.filter(account=acme).order_by("id")[:3]
    DirectoryUser.objects.filter(pk__in=[u.pk for u in gone]).update(deleted_at=timezone.now())
    live = DirectoryUser.objects.for_account(acme)
    deactivated, active = live.filter(is_active=False).count(), live.filter(is_active=True).count()
    assert deactivated and active + deactivated == total - 3

    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        everyone = client.get("/users/").content.decode()
    shown = {
        status: client.get("/users/", {"status": status}).content.decode()
        for status in ("active", "deactivated")
    }

    assert f"<strong>{active}</strong> licensed users" in everyone
    assert f"{total - 3} in all" in everyone
    assert f"{active} in all" in shown["active"]
    assert f"<strong>{active}</strong> licensed users" in shown["deactivated"]
    user_counts = [sql for sql in statements if sql.startswith('SELECT COUNT(*) AS "__count" FROM "directory_directoryuser"')]
    assert user_counts and all('NOT "directory_directoryuser"."is_active"' in sql for sql in user_counts)
