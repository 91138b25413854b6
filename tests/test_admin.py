"""Operators find everything in Django admin; keys show their prefix, never their digest."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from directory.admin import GroupAdmin
from directory.models import Agent, DirectoryUser, Group, GroupMembership
from integrations.models import ApiKey, ProvisioningEvent


@pytest.fixture
def populated(scim, acme):
    ann = scim.create_user("ann@acme.example").json()
    scim.create_group("Finance", [ann["id"]])
    scim.session.headers["Authorization"] = "Bearer nope"
    scim.get("/Users")
    Agent.objects.create(account=acme, user=DirectoryUser.objects.get(scim_id=ann["id"]), logon_name="ACME\\ann")
    return ann


@pytest.mark.parametrize(
    "model",
    ["account", "accountmember", "directoryuser", "group", "groupmembership", "agent"],
)
def test_directory_changelists_and_search_work(admin_client, populated, alice, model):
    assert_search_filters(admin_client, reverse(f"admin:directory_{model}_changelist"))


def assert_search_filters(admin_client, url: str) -> None:
    """The list shows rows, a search for something no row holds shows none: search is on."""
    listing = admin_client.get(url)
    assert listing.status_code == 200
    assert len(listing.context["cl"].result_list) > 0
    searched = admin_client.get(url, {"q": "zz-no-row-holds-this-zz"})
    assert searched.status_code == 200
    assert list(searched.context["cl"].result_list) == []


def test_search_finds_users_groups_and_agents_by_pasted_id_and_by_text(admin_client, populated, acme):
    bob = DirectoryUser.objects.create(account=acme, user_name="bob@acme.example")
    finance = Group.objects.get(display_name="Finance")
    agent = Agent.objects.get(logon_name="ACME\\ann")

    def found(model, term):
        response = admin_client.get(reverse(f"admin:directory_{model}_changelist"), {"q": term})
        assert response.status_code == 200
        return [str(obj.pk) for obj in response.context["cl"].result_list]

    ann_pk = str(DirectoryUser.objects.get(scim_id=populated["id"]).pk)
    assert found("directoryuser", populated["id"]) == [ann_pk]
    assert found("directoryuser", populated["id"].upper()) == [ann_pk]
    assert found("directoryuser", "BOB@ACME") == [str(bob.pk)]
    assert found("group", str(finance.scim_id)) == [str(finance.pk)]
    assert found("agent", str(agent.public_id)) == [str(agent.pk)]
    assert found("agent", "acme\\AN") == [str(agent.pk)]
    assert found("directoryuser", "00000000-0000-0000-0000-000000000000") == []


@pytest.mark.parametrize("model", ["integrationinstance", "apikey", "provisioningevent"])
def test_integration_changelists_and_search_work(admin_client, populated, model):
    assert_search_filters(admin_client, reverse(f"admin:integrations_{model}_changelist"))


def test_key_pages_show_the_prefix_and_never_the_digest(admin_client, populated):
    key = ApiKey.objects.first()
    listing = admin_client.get(reverse("admin:integrations_apikey_changelist")).content.decode()
    detail = admin_client.get(reverse("admin:integrations_apikey_change", args=[key.pk])).content.decode()
    instance = admin_client.get(reverse("admin:integrations_integrationinstance_change", args=[key.instance_id])).content.decode()

    for page in (listing, detail, instance):
        assert key.digest not in page
    assert key.masked in listing and key.masked in detail and key.masked in instance


def test_event_filters_and_user_detail_with_emails(admin_client, populated):
    failures = admin_client.get(reverse("admin:integrations_provisioningevent_changelist"), {"outcome__exact": "failure"})
    assert failures.status_code == 200 and "auth.failure" in failures.content.decode()
    user = DirectoryUser.objects.get(scim_id=populated["id"])
    detail = admin_client.get(reverse("admin:directory_directoryuser_change", args=[user.pk]))
    assert detail.status_code == 200 and "ann@acme.example" in detail.content.decode()
    group = Group.objects.get()
    assert admin_client.get(reverse("admin:directory_group_change", args=[group.pk])).status_code == 200
    assert GroupMembership.objects.count() == 1 and ProvisioningEvent.objects.count() == 4


def test_admin_deactivate_action_removes_access(admin_client, populated):
    user = DirectoryUser.objects.get(scim_id=populated["id"])
    response = admin_client.post(
        reverse("admin:directory_directoryuser_changelist"),
        {"action": "deactivate", "_selected_action": [user.pk]},
    )
    user.refresh_from_db()
    assert response.status_code == 302 and not user.is_active


def test_account_list_shows_counts_without_a_query_per_row(admin_client, populated, acme, globex, django_assert_max_num_queries):
    url = reverse("admin:directory_account_changelist")
    with django_assert_max_num_queries(12):
        page = admin_client.get(url).content.decode()
    assert "acme" in page and "globex" in page


def test_account_list_sorts_by_user_count_listing_each_account_once(admin_client, acme, globex):
    """Users per account exclude deleted ones and sort, each account listed once; the totals
    come from the live-user tally, not from counting user rows."""
    from django.db import connection
    from django.utils import timezone

    DirectoryUser.objects.bulk_create(DirectoryUser(account=acme, user_name=f"u{i}@acme.example") for i in range(4))
    DirectoryUser.objects.bulk_create(DirectoryUser(account=globex, user_name=f"g{i}@globex.example") for i in range(2))
    DirectoryUser.objects.filter(account=acme, user_name="u0@acme.example").update(deleted_at=timezone.now())
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    def listed(order: str) -> list[tuple[str, str]]:
        page = admin_client.get(reverse("admin:directory_account_changelist"), {"o": order}).content.decode()
        return [
            (re.search(r'field-slug"><a [^>]*>(\w+)<', row)[1], re.search(r'field-user_count">(\d+)<', row)[1])
            for row in re.findall(r"<tr>.*?</tr>", page, re.S)
            if "field-user_count" in row
        ]

    with connection.execute_wrapper(record):
        most_first = listed("-3")  # the third column, Users
    assert most_first == [("acme", "3"), ("globex", "2")]
    assert listed("3") == [("globex", "2"), ("acme", "3")]
    assert not [sql for sql in statements if 'FROM "directory_directoryuser"' in sql]


def test_agent_actions_merge_unmerge_and_assign(admin_client, populated, acme):
    ann = DirectoryUser.objects.get(scim_id=populated["id"])
    bob = DirectoryUser.objects.create(account=acme, user_name="bob@acme.example")
    first = Agent.objects.get()
    second = Agent.objects.create(account=acme, user=ann, logon_name="ann@acme.example", machine_name="ANN-2")
    third = Agent.objects.create(account=acme, user=bob, logon_name="bob@acme.example", machine_name="BOB")
    url = reverse("admin:directory_agent_changelist")

    admin_client.post(url, {"action": "merge", "_selected_action": [first.pk, second.pk]})
    second.refresh_from_db()
    assert second.merged_into == first

    admin_client.post(url, {"action": "unmerge", "_selected_action": [second.pk]})
    second.refresh_from_db()
    assert second.merged_into is None

    asked = admin_client.post(url, {"action": "merge", "_selected_action": [first.pk, third.pk]})
    third.refresh_from_db()
    assert asked.status_code == 200 and "different users" in asked.content.decode() and third.merged_into is None
    admin_client.post(url, {"action": "merge", "_selected_action": [first.pk, third.pk], "confirm_across_users": "yes"})
    third.refresh_from_db()
    assert third.merged_into == first

    form = admin_client.post(url, {"action": "assign_to_user", "_selected_action": [second.pk]})
    assert form.status_code == 200 and 'name="user_name"' in form.content.decode()
    admin_client.post(url, {"action": "assign_to_user", "_selected_action": [second.pk], "user_name": "BOB@acme.example"})
    second.refresh_from_db()
    assert second.user == bob and second.is_manually_assigned
    unassigned = admin_client.get(url, {"assignment": "unassigned"})
    assert unassigned.status_code == 200


def test_regenerate_action_shows_the_new_key_once_and_revokes_the_old(admin_client, populated):
    from integrations.services import api_key_authenticate

    instance = ApiKey.objects.first().instance
    response = admin_client.post(
        reverse("admin:integrations_integrationinstance_changelist"),
        {"action": "regenerate_keys", "_selected_action": [instance.pk]},
    )
    page = response.content.decode()
    new_key = page.split("<code>")[1].split("</code>")[0]

    assert "no-store" in response["Cache-Control"]
    assert api_key_authenticate(new_key).api_key.instance == instance
    assert ApiKey.objects.filter(instance=instance, revoked_at__isnull=True).count() == 1


def test_big_group_pages_link_to_memberships_instead_of_inlining(admin_client, acme, monkeypatch):
    from directory import admin as directory_admin

    users = DirectoryUser.objects.bulk_create(DirectoryUser(account=acme, user_name=f"u{i}@acme.example") for i in range(4))
    group = Group.objects.create(account=acme, display_name="Everyone")
    GroupMembership.objects.bulk_create(GroupMembership(group=group, user=u, user_scim_id=u.scim_id) for u in users)
    url = reverse("admin:directory_group_change", args=[group.pk])

    small = admin_client.get(url).content.decode()
    monkeypatch.setattr(directory_admin, "MEMBERSHIP_INLINE_LIMIT", 3)
    big = admin_client.get(url).content.decode()

    assert "u3@acme.example" in small
    assert "u3@acme.example" not in big and f"group__id__exact={group.pk}" in big


def test_user_list_queries_are_fixed(admin_client, acme, django_assert_max_num_queries):
    DirectoryUser.objects.bulk_create(DirectoryUser(account=acme, user_name=f"u{i}@acme.example") for i in range(30))
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:directory_directoryuser_changelist"))
    assert response.status_code == 200 and "u29@acme.example" in response.content.decode()


def test_unfiltered_huge_tables_are_counted_from_the_planner_estimate(acme):
    from django.db import connection

    from directory.admin import EstimatedCountPaginator

    DirectoryUser.objects.bulk_create(
        (DirectoryUser(account=acme, user_name=f"bulk{i}@acme.example") for i in range(10_500)), batch_size=5000
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE directory_directoryuser")
    estimated = EstimatedCountPaginator(DirectoryUser.objects.order_by("id"), 100).count
    exact = EstimatedCountPaginator(DirectoryUser.objects.filter(user_name__startswith="bulk1").order_by("id"), 100).count

    assert abs(estimated - 10_500) < 1_000
    assert exact == DirectoryUser.objects.filter(user_name__startswith="bulk1").count()


def test_group_list_counts_agents_and_follows_merges(admin_client, acme):
    from directory.agent_services import agent_check_in, agents_merge

    tyler = DirectoryUser.objects.create(account=acme, user_name="tyler@acme.example")
    first, _ = agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name="A")
    second, _ = agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name="B")
    group = Group.objects.create(account=acme, display_name="Mayhem")
    GroupMembership.objects.create(group=group, user=tyler)
    url = reverse("admin:directory_group_changelist")

    before = admin_client.get(url).context["cl"].result_list[0]
    agents_merge(primary=first, others=[second])
    after = admin_client.get(url).context["cl"].result_list[0]

    assert (before.user_total, before.agent_total) == (1, 2)
    assert (after.user_total, after.agent_total) == (1, 1)


def test_group_list_sorts_by_either_count(admin_client, acme):
    from directory.agent_services import agent_check_in

    sizes = {"Small": 1, "Large": 3, "Empty": 0}
    for name, size in sizes.items():
        group = Group.objects.create(account=acme, display_name=name)
        for i in range(size):
            user = DirectoryUser.objects.create(account=acme, user_name=f"{name}{i}@acme.example")
            agent_check_in(account=acme, logon_name=user.user_name, machine_name="A")
            GroupMembership.objects.create(group=group, user=user)
    url = reverse("admin:directory_group_changelist")
    columns = list(GroupAdmin.list_display)

    def names(column: str, descending: bool) -> list[str]:
        order = ("-" if descending else "") + str(columns.index(column) + 1)
        response = admin_client.get(url, {"o": order})
        assert response.status_code == 200
        return [group.display_name for group in response.context["cl"].result_list]

    assert names("agent_count", descending=True) == ["Large", "Small", "Empty"]
    assert names("agent_count", descending=False) == ["Empty", "Small", "Large"]
    assert names("member_count", descending=True) == ["Large", "Small", "Empty"]


def test_substring_searches_have_trigram_indexes_on_the_expression_django_queries(acme):
    from django.db import connection

    query = str(DirectoryUser.objects.filter(user_name__icontains="x").query)
    assert 'UPPER("directory_directoryuser"."user_name"::text) LIKE' in query
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE %s", ["%_trgm"])
        indexes = dict(cursor.fetchall())
    assert "upper((user_name)::text) gin_trgm_ops" in indexes["directory_user_user_name_trgm"]
    assert {"directory_user_email_trgm", "directory_user_display_name_trgm", "directory_agent_logon_name_trgm"} <= indexes.keys()
