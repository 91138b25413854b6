"""Every SCIM write records an event, without secrets or bodies."""

from __future__ import annotations

from integrations.models import ProvisioningEvent


def test_each_write_records_its_action_target_and_outcome(scim, acme):
    ann = scim.create_user("ann@acme.example").json()
    bob = scim.create_user("bob@acme.example").json()
    group = scim.create_group("Ops").json()
    scim.patch(f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": ann["id"]}, {"value": bob["id"]}]}])
    scim.patch(f"/Groups/{group['id']}", [{"op": "remove", "path": f'members[value eq "{ann["id"]}"]'}])
    scim.patch(f"/Groups/{group['id']}", [{"op": "replace", "value": {"id": group["id"], "displayName": "Operations"}}])
    scim.create_user("ANN@acme.example")  # 409
    scim.delete(f"/Groups/{group['id']}")

    events = list(ProvisioningEvent.objects.order_by("id"))
    summary = [(e.action, e.outcome, e.status_code) for e in events]

    assert summary == [
        ("user.create", "success", 201),
        ("user.create", "success", 201),
        ("group.create", "success", 201),
        ("group.members.add", "success", 200),
        ("group.members.remove", "success", 200),
        ("group.rename", "success", 200),
        ("user.create", "failure", 409),
        ("group.delete", "success", 204),
    ]
    assert events[3].detail == "2 added" and events[3].target_id == group["id"]
    assert events[0].target_display == "ann@acme.example" and events[0].account == acme
    assert events[0].instance is not None and events[0].client_ip == "127.0.0.1"
    assert "already exists" in events[6].detail


def test_events_never_hold_passwords_or_keys(scim, acme_key):
    scim.create_user("ann@acme.example", password="S3cret-Okta-Password")
    scim.session.headers["Authorization"] = "Bearer " + acme_key[:-1] + "x"
    scim.get("/Users")

    events = list(ProvisioningEvent.objects.all())
    # The create and the refused key were both recorded: there is something to look into.
    assert {event.action for event in events} >= {"user.create", "auth.failure"}, events
    for event in events:
        text = " ".join(str(value) for value in event.__dict__.values())
        assert "S3cret-Okta-Password" not in text
        assert acme_key[:-1] not in text
