"""Deactivation removes access but keeps the user; DELETE leaves a tombstone."""

from __future__ import annotations

from django.contrib.auth import authenticate, get_user_model

from directory.models import DirectoryUser, GroupMembership
from integrations.models import ProvisioningEvent


def link_login(user_id: str, password: str = "correct horse battery"):
    login = get_user_model().objects.create_user(username="ann@acme.example", password=password)
    DirectoryUser.objects.filter(scim_id=user_id).update(login=login)
    return login


def test_scim_deactivation_locks_the_linked_login_and_reactivation_restores_it(scim):
    user = scim.create_user("ann@acme.example").json()
    link_login(user["id"])
    assert authenticate(username="ann@acme.example", password="correct horse battery") is not None

    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "value": {"active": False}}])
    locked_out = authenticate(username="ann@acme.example", password="correct horse battery")
    scim.put(f"/Users/{user['id']}", {**scim.get(f"/Users/{user['id']}").json(), "active": True})
    restored = authenticate(username="ann@acme.example", password="correct horse battery")

    assert locked_out is None and restored is not None
    stored = DirectoryUser.objects.get(scim_id=user["id"])
    assert stored.is_active and stored.deactivated_at is None


def test_deactivated_users_keep_their_data_and_are_not_active_members(scim):
    ann = scim.create_user("ann@acme.example", "Ann", "Lee", title="CFO").json()
    bob = scim.create_user("bob@acme.example").json()
    group = scim.create_group("Finance", [ann["id"], bob["id"]]).json()

    scim.patch(f"/Users/{ann['id']}", [{"op": "replace", "value": {"active": False}}])

    stored = DirectoryUser.objects.get(scim_id=ann["id"])
    assert not stored.is_active and stored.deactivated_at is not None
    assert stored.title == "CFO" and stored.given_name == "Ann"
    from directory.models import Group

    finance = Group.objects.get(scim_id=group["id"])
    assert finance.memberships.count() == 2 and finance.active_member_count() == 1
    assert ProvisioningEvent.objects.filter(action="user.deactivate", target_id=ann["id"]).exists()


def test_delete_leaves_a_tombstone_frees_the_user_name_and_removes_memberships(scim):
    ann = scim.create_user("ann@acme.example").json()
    group = scim.create_group("Finance", [ann["id"]]).json()
    link_login(ann["id"])

    deleted = scim.delete(f"/Users/{ann['id']}")
    again = scim.get(f"/Users/{ann['id']}")
    lookup = scim.find_user("ann@acme.example").json()
    recreated = scim.create_user("ann@acme.example")

    assert deleted.status_code == 204 and again.status_code == 404
    assert lookup["totalResults"] == 0 and recreated.status_code == 201
    assert recreated.json()["id"] != ann["id"]
    tombstone = DirectoryUser.objects.get(scim_id=ann["id"])
    assert tombstone.deleted_at is not None and not tombstone.is_active
    assert not GroupMembership.objects.filter(user=tombstone).exists()
    assert scim.get(f"/Groups/{group['id']}").json()["members"] == []
    assert authenticate(username="ann@acme.example", password="correct horse battery") is None
    assert scim.delete(f"/Users/{ann['id']}").status_code == 404
