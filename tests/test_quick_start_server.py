"""The quick start's own server (the settings and command bin/quickstart uses, on a SQLite file)
takes eight Okta-like writers at once without a failure, and shows visitors plain error pages."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.views.defaults import server_error

from tests.server_process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
SCIM = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
WRITERS = 8


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory):
    """bin/quickstart's steps: migrate, the demo account, then runserver in quick-start mode."""
    workdir = tmp_path_factory.mktemp("quick")
    database = workdir / "db.sqlite3"
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "SCIM_"))
    }
    env.update(
        DJANGO_QUICK_START="true",
        DJANGO_DEBUG="false",
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SECRET_KEY="quick-start-test-" + "x" * 40,
        SCIM_KEY_HMAC_SECRET="quick-start-test-" + "y" * 40,
        DJANGO_SETTINGS_MODULE="activtrak_scim.settings",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True)
    demo = subprocess.run(
        [*manage, "quickstart_demo", "--base-url", f"{base}/scim/v1"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    key = re.search(r"SCIM API key:\s+(\S+)", demo).group(1)
    server = ServerProcess(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        port=port, env=env, cwd=ROOT, log_path=workdir / "runserver.log",
    )
    server.start(probe="/healthz")
    try:
        yield base, key, database
    finally:
        server.stop(timeout=20)


def writer(base: str, key: str, number: int, shared_group_id: str) -> list[tuple[str, int]]:
    """An Okta-like push: per user a userName lookup, a create, a profile PATCH and a PUT; then
    the writer's own group is created with two members, a member PATCH adds the other three and
    removes the first, and a PATCH adds all five to the group every writer shares. Returns
    (what, status) for every request."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": SCIM})
    results, ids = [], []

    def send(what: str, method: str, path: str, body: dict | None = None) -> requests.Response:
        response = session.request(method, f"{base}/scim/v1{path}", json=body, timeout=60)
        results.append((what, response.status_code))
        return response

    for index in range(5):
        name = f"w{number}-{index}@quick.example"
        found = session.get(f"{base}/scim/v1/Users", params={"filter": f'userName eq "{name}"'}, timeout=60)
        results.append((f"lookup {name}", found.status_code))
        assert found.status_code != 200 or found.json()["totalResults"] == 0, found.text
        created = send(f"create {name}", "POST", "/Users", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
            "name": {"givenName": "W", "familyName": str(number)}, "active": True,
            "emails": [{"value": name, "type": "work", "primary": True}],
        })
        if created.status_code != 201:
            continue
        user_id = created.json()["id"]
        ids.append(user_id)
        send(f"patch {name}", "PATCH", f"/Users/{user_id}", {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "value": {"name.givenName": "Patched"}}],
        })
        document = session.get(f"{base}/scim/v1/Users/{user_id}", timeout=60).json()
        document["title"] = f"Writer {number}"
        send(f"put {name}", "PUT", f"/Users/{user_id}", document)
    group = send(f"group create {number}", "POST", "/Groups", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": f"Team {number}",
        "members": [{"value": i} for i in ids[:2]],
    })
    if group.status_code == 201:
        send(f"group members {number}", "PATCH", f"/Groups/{group.json()['id']}", {
            "schemas": [PATCH_OP], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": i} for i in ids[2:]]},
                {"op": "remove", "path": f'members[value eq "{ids[0]}"]'},
            ],
        })
    send(f"shared group add {number}", "PATCH", f"/Groups/{shared_group_id}", {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
    })
    return results


def stored(database: Path) -> dict:
    """What the SQLite file holds, read with sqlite3 itself: live users with the fields the
    writers set, groups, and memberships by name."""
    with sqlite3.connect(database) as db:
        return {
            "users": set(db.execute(
                "SELECT user_name, given_name, title FROM directory_directoryuser WHERE deleted_at IS NULL"
            )),
            "groups": {name for (name,) in db.execute("SELECT display_name FROM directory_group")},
            "members": set(db.execute(
                "SELECT g.display_name, u.user_name FROM directory_groupmembership m"
                " JOIN directory_group g ON g.id = m.group_id"
                " JOIN directory_directoryuser u ON u.id = m.user_id"
            )),
        }


def test_eight_concurrent_writers_all_succeed_and_exactly_their_writes_are_stored(quick_start):
    base, key, database = quick_start
    headers = {"Authorization": f"Bearer {key}", "Content-Type": SCIM}
    group = requests.post(f"{base}/scim/v1/Groups", headers=headers, timeout=30, json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone",
    })
    assert group.status_code == 201, group.text
    before = stored(database)
    start = threading.Barrier(WRITERS)

    def run(number: int):
        start.wait()
        return writer(base, key, number, group.json()["id"])

    with ThreadPoolExecutor(WRITERS) as pool:
        results = [item for batch in pool.map(run, range(WRITERS)) for item in batch]

    failures = [(what, status) for what, status in results if status not in (200, 201, 204)]
    assert failures == [], f"{len(failures)} of {len(results)} requests failed: {failures[:20]}"
    assert len(results) == WRITERS * (5 * 4 + 3)

    names = {n: [f"w{n}-{i}@quick.example" for i in range(5)] for n in range(WRITERS)}
    after = stored(database)
    assert after["users"] == before["users"] | {
        (name, "Patched", f"Writer {n}") for n in names for name in names[n]
    }
    assert after["groups"] == before["groups"] | {f"Team {n}" for n in names}
    assert after["members"] == before["members"] | {
        ("Everyone", name) for n in names for name in names[n]
    } | {(f"Team {n}", name) for n in names for name in names[n][1:]}


@pytest.mark.parametrize("path", ["/no-such-page/", "/users/not-a-uuid/", "/help/nothing/"])
def test_visitors_get_the_plain_404_page_not_the_url_list(quick_start, path):
    base, _, _ = quick_start
    response = requests.get(base + path, timeout=10)
    assert response.status_code == 404
    assert "Page not found" in response.text and "css/app.css" in response.text
    assert "URLconf" not in response.text and "scim/v1" not in response.text
    assert "DEBUG = True" not in response.text


def test_a_host_it_does_not_serve_gets_the_plain_400_page(quick_start):
    base, _, _ = quick_start
    response = requests.get(base + "/accounts/login/", headers={"Host": "evil.example"}, timeout=10)
    assert response.status_code == 400
    assert "Bad request" in response.text and "css/app.css" in response.text
    assert "ALLOWED_HOSTS" not in response.text and "Traceback" not in response.text


def test_a_form_posted_without_its_csrf_token_gets_the_plain_403_page(quick_start):
    base, _, _ = quick_start
    response = requests.post(
        base + "/accounts/login/", data={"username": "a@b.example", "password": "x"}, timeout=10
    )
    assert response.status_code == 403
    assert "This form has expired" in response.text and "css/app.css" in response.text
    assert "CSRF verification failed" not in response.text and "DEBUG" not in response.text


def test_the_500_page_has_the_site_look_and_needs_no_request_context(rf):
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "css/app.css" in response.content.decode()


def test_the_quick_start_serves_its_pages_with_their_styles(quick_start):
    base, _, _ = quick_start
    page = requests.get(base + "/accounts/login/", timeout=10)
    assert page.status_code == 200
    stylesheet = re.search(r'href="([^"]+\.css)"', page.text).group(1)
    css = requests.get(base + stylesheet, timeout=10)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
