"""The quick start runs on SQLite: the SCIM paths that have a PostgreSQL-only fast path must give
the same answers there. Runs in a subprocess with its own SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCENARIO = r'''
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from directory.models import Account
from integrations.services import instance_create

account = Account.objects.create(slug="quick", name="Quick")
_, key = instance_create(account=account, name="Okta")
client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

def send(method, path, body=None):
    response = getattr(client, method)(path, json.dumps(body) if body is not None else None, content_type="application/scim+json")
    return response.status_code, (json.loads(response.content) if response.content else None)

ids = []
for i in range(5):
    status, user = send("post", "/scim/v1/Users", {"userName": f"u{i}@quick.example", "emails": [{"value": f"u{i}@quick.example", "primary": True}]})
    assert status == 201, user
    ids.append(user["id"])
status, group = send("post", "/scim/v1/Groups", {"displayName": "Team", "members": [{"value": ids[0]}, {"value": ids[1].upper()}]})
assert status == 201, group
assert sorted(m["value"] for m in group["members"]) == sorted(ids[:2]), group["members"]
status, group = send("put", f"/scim/v1/Groups/{group['id']}", {"displayName": "Team", "members": [{"value": v} for v in ids[1:4]]})
assert status == 200 and sorted(m["value"] for m in group["members"]) == sorted(ids[1:4]), group
status, user = send("get", f"/scim/v1/Users/{ids[2]}")
assert [g["value"] for g in user["groups"]] == [group["id"]], user["groups"]
status, patched = send("patch", f"/scim/v1/Users/{ids[2]}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": False}}]})
assert status == 200 and patched["active"] is False and patched["groups"][0]["value"] == group["id"]
status, found = send("get", "/scim/v1/Users?filter=" + 'userName eq "U3@QUICK.EXAMPLE"')
assert found["totalResults"] == 1 and found["Resources"][0]["id"] == ids[3], found
for start in range(1, 7):
    status, page = send("get", f"/scim/v1/Users?startIndex={start}&count=2")
    assert page["totalResults"] == 5 and [r["id"] for r in page["Resources"]] == ids[start - 1 : start + 1], (start, page)
from directory.agent_services import agent_check_in, agents_merge
from directory.models import DirectoryUser, Group
for machine in ("A", "B", "C"):
    agent_check_in(account=account, logon_name="u1@quick.example", machine_name=machine)
first, second, _ = DirectoryUser.objects.get(user_name="u1@quick.example").agents.order_by("id")
agents_merge(primary=first, others=[second])
user = DirectoryUser.objects.get(user_name="u1@quick.example")
assert (user.agent_count, user.counted_agent_count) == (3, 2), (user.agent_count, user.counted_agent_count)
team = Group.objects.filter(display_name="Team").with_member_counts().get()
assert (team.user_total, team.agent_total, team.pending_total) == (3, 2, 1), (team.user_total, team.agent_total, team.pending_total)
from directory.models import LiveUserTally
assert send("delete", f"/scim/v1/Users/{ids[4]}")[0] == 204
DirectoryUser.objects.create(account=account, user_name="by-hand@quick.example")
DirectoryUser.objects.filter(user_name="u0@quick.example").delete()
status, page = send("get", "/scim/v1/Users?count=0")
assert page["totalResults"] == 4 == DirectoryUser.objects.for_account(account).count(), page
LiveUserTally.fold(account)
assert LiveUserTally.objects.filter(account_id=account.pk).count() == 1 and LiveUserTally.total(account) == 4
print("sqlite scenario ok")
'''


def test_scim_on_the_sqlite_quick_start_database(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'quick.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "activtrak_scim.settings",
        "DJANGO_DEBUG": "true",
        "DJANGO_SECRET_KEY": "quick-start-test-secret-" + "x" * 30,
        "SCIM_KEY_HMAC_SECRET": "quick-start-key-secret-" + "h" * 30,
        "DJANGO_ALLOWED_HOSTS": "testserver",
    }
    done = subprocess.run([sys.executable, "-c", SCENARIO], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "sqlite scenario ok" in done.stdout
