"""Each user's stored agent counts (kept by database triggers) equal a live count after every
kind of agent change, including admin edits, deletes, cascades and concurrent check-ins."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q

from directory import services
from directory.agent_services import agent_assign, agent_check_in, agent_unmerge, agents_merge
from directory.models import Agent, DirectoryUser, Group, GroupMembership


def run_in_threads(*targets) -> list[BaseException]:
    """Run each target on its own thread and database connection; returns what they raised."""
    errors: list[BaseException] = []

    def run(target) -> None:
        try:
            target()
        except BaseException as exc:  # reported to the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def assert_counts_match_live(account) -> None:
    live = {
        user.pk: (user.live_all, user.live_counted)
        for user in DirectoryUser.objects.filter(account=account).annotate(
            live_all=Count("agents"), live_counted=Count("agents", filter=Q(agents__merged_into__isnull=True))
        )
    }
    stored = dict(
        (pk, (total, counted))
        for pk, total, counted in DirectoryUser.objects.filter(account=account).values_list(
            "pk", "agent_count", "counted_agent_count"
        )
    )
    assert stored == live


def test_counts_follow_every_kind_of_agent_change(acme):
    tyler = DirectoryUser.objects.create(account=acme, user_name="tyler@acme.example")
    marla = DirectoryUser.objects.create(account=acme, user_name="marla@acme.example")
    laptop, _ = agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name="LAPTOP")
    desktop, _ = agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name="DESKTOP")
    kiosk, _ = agent_check_in(account=acme, logon_name="kiosk@acme.example", machine_name="KIOSK")
    assert_counts_match_live(acme)
    tyler.refresh_from_db()
    assert (tyler.agent_count, tyler.counted_agent_count) == (2, 2)

    steps = [
        lambda: agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name="LAPTOP"),
        lambda: agents_merge(primary=laptop, others=[desktop]),
        lambda: agent_unmerge(agent=desktop),
        lambda: agents_merge(primary=laptop, others=[desktop]),
        lambda: agent_assign(agent=kiosk, user=marla),
        lambda: agents_merge(primary=kiosk, others=[laptop], across_users=True),  # desktop follows
        lambda: agent_assign(agent=laptop, user=None),
        lambda: Agent.objects.filter(pk=desktop.pk).update(user=marla, merged_into=None),
        lambda: Agent.objects.filter(pk=kiosk.pk).delete(),
        lambda: DirectoryUser.objects.filter(pk=marla.pk).delete(),  # SET NULL on her agents
        lambda: Agent.objects.create(account=acme, user=tyler, logon_name="t2", machine_name="M2"),
        lambda: Agent.objects.filter(account=acme).update(merged_into=None),
        lambda: services.user_save(user=DirectoryUser(account=acme, user_name="kiosk@acme.example"), emails=None),
    ]
    for step in steps:
        step()
        assert_counts_match_live(acme)


def test_group_counts_come_from_the_stored_counts(acme):
    tyler = DirectoryUser.objects.create(account=acme, user_name="tyler@acme.example")
    off = DirectoryUser.objects.create(account=acme, user_name="off@acme.example", is_active=False)
    new = DirectoryUser.objects.create(account=acme, user_name="new@acme.example")
    group = Group.objects.create(account=acme, display_name="G")
    for user in (tyler, off, new):
        GroupMembership.objects.create(group=group, user=user)
    for machine in ("A", "B", "C"):
        agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name=machine)
    agent_check_in(account=acme, logon_name="off@acme.example", machine_name="OFF")
    a, b, _ = Agent.objects.filter(user=tyler).order_by("id")
    agents_merge(primary=a, others=[b])

    counted = Group.objects.filter(pk=group.pk).with_member_counts().get()
    # Tyler counts twice (3 agents, 2 after the merge); the inactive user's agent does not count;
    # the new user is pending.
    assert (counted.user_total, counted.agent_total, counted.pending_total) == (3, 2, 1)
    assert (group.agent_member_count(), group.pending_member_count()) == (2, 1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_check_ins_of_one_users_agents_lose_no_count(acme):
    tyler = DirectoryUser.objects.create(account=acme, user_name="tyler@acme.example")
    start = threading.Barrier(8)

    def check_in(machine: str) -> None:
        start.wait(timeout=10)
        agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name=machine)

    errors = run_in_threads(*(lambda i=i: check_in(f"PC-{i}") for i in range(8)))

    assert errors == []
    tyler.refresh_from_db()
    assert (tyler.agent_count, tyler.counted_agent_count) == (8, 8)
    assert_counts_match_live(acme)


@pytest.mark.django_db(transaction=True)
def test_merging_while_okta_deactivates_the_same_user_does_not_deadlock(acme):
    """A SCIM write locks the user, then updates its agents; a merge updates agents, whose
    count trigger then updates the user. The merge takes the user first, so they queue."""
    tyler = DirectoryUser.objects.create(account=acme, user_name="tyler@acme.example")
    for machine in ("A", "B"):
        agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name=machine)
    first, second = Agent.objects.filter(user=tyler).order_by("id")
    user_locked = threading.Event()

    def deactivate() -> None:
        with transaction.atomic():
            user = DirectoryUser.objects.select_for_update().get(pk=tyler.pk)
            user_locked.set()
            time.sleep(0.5)  # the merge starts meanwhile
            user.set_active(False)
            services.user_save(user=user, emails=None)

    def merge() -> None:
        user_locked.wait(timeout=10)
        agents_merge(primary=first, others=[second])

    errors = run_in_threads(deactivate, merge)

    assert errors == []
    tyler.refresh_from_db()
    assert not tyler.is_active and (tyler.agent_count, tyler.counted_agent_count) == (2, 1)
    assert set(Agent.objects.filter(user=tyler).values_list("is_uninstall_required", flat=True)) == {True}


def test_saving_a_user_loaded_before_its_agents_changed_keeps_the_counts(acme):
    stale = DirectoryUser.objects.create(account=acme, user_name="tyler@acme.example")
    stale = DirectoryUser.objects.get(pk=stale.pk)
    agent_check_in(account=acme, logon_name="tyler@acme.example", machine_name="LAPTOP")
    stale.title = "Engineer"
    stale.save()
    services.user_save(user=stale, emails=None)
    fresh = DirectoryUser.objects.get(pk=stale.pk)
    assert (fresh.title, fresh.agent_count, fresh.counted_agent_count) == ("Engineer", 1, 1)
