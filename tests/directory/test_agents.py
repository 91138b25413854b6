"""Agents check in, link to directory users, count per agent in groups, merge, and follow
deprovisioning. The Tyler scenario runs end to end over real HTTP."""

from __future__ import annotations

import pytest
import requests

from directory.agent_services import agent_assign, agent_check_in, agent_unmerge, agents_merge
from directory.errors import DirectoryError
from directory.models import AccountDomain, Agent, DirectoryUser, Group
from integrations.services import agent_key_regenerate


@pytest.fixture
def agent_key(acme) -> str:
    return agent_key_regenerate(account=acme)


@pytest.fixture
def check_in(live_server, agent_key):
    def send(logon_name: str, machine_name: str, key: str | None = None, **extra):
        return requests.post(
            f"{live_server.url}/api/agents/v1/check-in",
            json={"logon_name": logon_name, "machine_name": machine_name, **extra},
            headers={"Authorization": f"Bearer {key or agent_key}"},
            timeout=30,
        )

    return send


def counts(group_id: str) -> tuple[int, int]:
    group = Group.objects.get(scim_id=group_id)
    return group.memberships.count(), group.agent_member_count()


def test_tyler_scenario_end_to_end(scim, check_in, acme):
    tyler = scim.create_user("tyler@acme.example", "Tyler", "Durden").json()
    laptop = check_in("tyler@acme.example", "TYLER-LAPTOP", os="Windows 11")
    desktop = check_in("TYLER@ACME.EXAMPLE", "TYLER-DESKTOP", os="macOS 15")
    assert laptop.status_code == 201 and desktop.status_code == 201
    assert laptop.json()["user"] == {"id": tyler["id"], "userName": "tyler@acme.example"}

    group = scim.create_group("Project Mayhem", [tyler["id"]]).json()
    scim_view = scim.get(f"/Groups/{group['id']}").json()
    assert [m["value"] for m in scim_view["members"]] == [tyler["id"]]
    assert counts(group["id"]) == (1, 2)

    agents = list(Agent.objects.order_by("id"))
    agents_merge(primary=agents[0], others=[agents[1]])
    assert counts(group["id"]) == (1, 1)
    assert len(scim.get(f"/Groups/{group['id']}").json()["members"]) == 1

    agent_unmerge(agent=agents[1])
    assert counts(group["id"]) == (1, 2)
    agents_merge(primary=agents[0], others=[agents[1]])

    scim.patch(f"/Groups/{group['id']}", [{"op": "remove", "path": f'members[value eq "{tyler["id"]}"]'}])
    assert counts(group["id"]) == (0, 0)


def test_repeat_check_in_updates_the_same_agent(check_in):
    first = check_in("ACME\\ann", "ANN-PC", os="Windows 10")
    again = check_in("acme\\ANN", "ann-pc", os="Windows 11")

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Agent.objects.count() == 1 and Agent.objects.get().os == "Windows 11"


def test_domain_logons_match_through_the_account_domains_and_users_created_later(scim, check_in, acme):
    AccountDomain.objects.create(account=acme, netbios_name="ACME", email_domain="acme.example")
    unmatched = check_in("ACME\\bob", "BOB-PC")
    assert unmatched.json()["user"] is None and unmatched.json()["status"] == "unassigned"

    bob = scim.create_user("bob@acme.example").json()
    agent = Agent.objects.get()
    assert agent.user.scim_id.hex == bob["id"].replace("-", "")

    other = check_in("OTHERDOM\\bob", "BOB-2")
    assert other.json()["user"] is None


def test_matching_uses_any_email_and_a_rename(scim, check_in):
    user = scim.create_user("c.dunn@acme.example", emails=[{"value": "cat@acme.example", "type": "work", "primary": True}]).json()
    by_email = check_in("cat@acme.example", "CAT-PC")
    assert by_email.json()["user"]["id"] == user["id"]

    stray = check_in("catherine@acme.example", "CAT-2")
    assert stray.json()["user"] is None
    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "userName", "value": "catherine@acme.example"}])
    assert Agent.objects.get(machine_name="CAT-2").user.user_name == "catherine@acme.example"


def test_manual_assignment_is_never_overwritten_by_matching(scim, check_in, acme):
    dan = scim.create_user("dan@acme.example").json()
    check_in("shared@acme.example", "KIOSK")
    agent = Agent.objects.get()
    agent_assign(agent=agent, user=DirectoryUser.objects.get(scim_id=dan["id"]))

    scim.create_user("shared@acme.example")
    check_in("shared@acme.example", "KIOSK")

    agent.refresh_from_db()
    assert agent.user.user_name == "dan@acme.example" and agent.is_manually_assigned


def test_deprovisioning_flags_agents_and_reactivation_clears_them(scim, check_in, acme):
    eve = scim.create_user("eve@acme.example").json()
    check_in("eve@acme.example", "EVE-1")
    check_in("eve@acme.example", "EVE-2")
    group = scim.create_group("Finance", [eve["id"]]).json()
    assert acme.licensed_user_count() == 1 and counts(group["id"]) == (1, 2)

    scim.patch(f"/Users/{eve['id']}", [{"op": "replace", "value": {"active": False}}])
    flagged = set(Agent.objects.values_list("is_uninstall_required", flat=True))
    status = check_in("eve@acme.example", "EVE-1").json()
    assert flagged == {True} and status["status"] == "uninstall required" and status["uninstall_required"]
    assert acme.licensed_user_count() == 0 and counts(group["id"]) == (1, 0)
    assert Agent.objects.count() == 2

    scim.patch(f"/Users/{eve['id']}", [{"op": "replace", "value": {"active": True}}])
    assert set(Agent.objects.values_list("is_uninstall_required", flat=True)) == {False}
    assert acme.licensed_user_count() == 1 and counts(group["id"]) == (1, 2)


def test_merging_agents_of_different_users_needs_confirmation(acme):
    ann = DirectoryUser.objects.create(account=acme, user_name="ann@acme.example")
    bob = DirectoryUser.objects.create(account=acme, user_name="bob@acme.example")
    first, _ = agent_check_in(account=acme, logon_name="ann@acme.example", machine_name="A")
    second, _ = agent_check_in(account=acme, logon_name="bob@acme.example", machine_name="B")
    assert (first.user, second.user) == (ann, bob)

    with pytest.raises(DirectoryError, match="different users"):
        agents_merge(primary=first, others=[second])
    assert agents_merge(primary=first, others=[second], across_users=True) == 1
    second.refresh_from_db()
    assert second.merged_into == first and second.status == "merged"


def test_pending_members_have_no_agent_yet(scim, check_in):
    fay = scim.create_user("fay@acme.example").json()
    gil = scim.create_user("gil@acme.example").json()
    check_in("fay@acme.example", "FAY")
    group = Group.objects.get(scim_id=scim.create_group("Ops", [fay["id"], gil["id"]]).json()["id"])
    assert (group.memberships.count(), group.agent_member_count(), group.pending_member_count()) == (2, 1, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"machine_name": "X"}, "logon_name"),
        ({"logon_name": "a@b.c"}, "machine_name"),
        ({"logon_name": "", "machine_name": "X"}, "logon_name"),
        ({"logon_name": "x" * 400, "machine_name": "X"}, "logon_name"),
        ({"logon_name": ["a"], "machine_name": "X"}, "logon_name"),
        ({"logon_name": "DOMAIN\\", "machine_name": "X"}, "detail"),
    ],
)
def test_bad_check_ins_get_clear_400s(live_server, agent_key, body, field):
    response = requests.post(
        f"{live_server.url}/api/agents/v1/check-in", json=body, headers={"Authorization": f"Bearer {agent_key}"}, timeout=30
    )
    assert response.status_code == 400 and field in response.json()
    assert not Agent.objects.exists()


def test_check_in_keys_are_per_account_and_regenerable(live_server, check_in, agent_key, acme, globex, scim):
    scim.create_user("ann@acme.example")
    globex_key = agent_key_regenerate(account=globex)
    theirs = check_in("ann@acme.example", "ANN", key=globex_key)
    assert theirs.status_code == 201 and theirs.json()["user"] is None
    assert Agent.objects.get().account == globex

    from integrations.models import AgentKey

    assert AgentKey.objects.get(account=globex).last_used_at is not None
    new_key = agent_key_regenerate(account=acme)
    old = check_in("ann@acme.example", "ANN", key=agent_key)
    assert old.status_code == 401 and "regenerated" in old.json()["detail"]
    assert check_in("ann@acme.example", "ANN", key=new_key).status_code == 201
    assert requests.post(f"{live_server.url}/api/agents/v1/check-in", json={}, timeout=30).status_code == 401
    scim_key_as_agent_key = requests.post(
        f"{live_server.url}/api/agents/v1/check-in",
        json={"logon_name": "a@b.c", "machine_name": "M"},
        headers={"Authorization": f"Bearer {scim.session.headers['Authorization'].split()[1]}"},
        timeout=30,
    )
    assert scim_key_as_agent_key.status_code == 401
