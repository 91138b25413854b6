"""The quick start's own server (the settings and command bin/quickstart uses, on a SQLite file)
takes eight Okta-like writers at once without a failure, and shows visitors plain error pages."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
SCIM = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
WRITERS = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield base, key, database
    finally:
        server.terminate()
        server.wait(timeout=20)


def writer(base: str, key: str, number: int, group_id: str) -> list[tuple[str, int]]:
    """An Okta-like push: per user a lookup then a create, a profile PATCH and PUT, then the
    users are added to the shared group. Returns (what, status) for every write."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": SCIM})
    results, ids = [], []
    for index in range(5):
        name = f"w{number}-{index}@quick.example"
        found = session.get(f"{base}/scim/v1/Users", params={"filter": f'userName eq "{name}"'})
        assert found.status_code == 200, found.text
        created = session.post(f"{base}/scim/v1/Users", json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
            "name": {"givenName": "W", "familyName": str(number)}, "active": True,
            "emails": [{"value": name, "type": "work", "primary": True}],
        })
        results.append((f"create {name}", created.status_code))
        if created.status_code != 201:
            continue
        user_id = created.json()["id"]
        ids.append(user_id)
        patched = session.patch(f"{base}/scim/v1/Users/{user_id}", json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "value": {"name": {"givenName": "Patched"}}}],
        })
        results.append((f"patch {name}", patched.status_code))
        document = session.get(f"{base}/scim/v1/Users/{user_id}").json()
        document["title"] = f"Writer {number}"
        put = session.put(f"{base}/scim/v1/Users/{user_id}", json=document)
        results.append((f"put {name}", put.status_code))
    added = session.patch(f"{base}/scim/v1/Groups/{group_id}", json={
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
    })
    results.append((f"group add {number}", added.status_code))
    return results


def test_eight_concurrent_writers_all_succeed_and_exactly_their_writes_are_stored(quick_start):
    base, key, database = quick_start
    headers = {"Authorization": f"Bearer {key}", "Content-Type": SCIM}
    group = requests.post(f"{base}/scim/v1/Groups", headers=headers, json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone",
    })
    assert group.status_code == 201, group.text
    start = threading.Barrier(WRITERS)

    def run(number: int):
        start.wait()
        return writer(base, key, number, group.json()["id"])

    with ThreadPoolExecutor(WRITERS) as pool:
        results = [item for batch in pool.map(run, range(WRITERS)) for item in batch]

    failures = [(what, status) for what, status in results if status not in (200, 201)]
    assert failures == [], failures
    assert len(results) == WRITERS * (5 * 3 + 1)

    with sqlite3.connect(database) as db:
        users = dict(db.execute(
            "SELECT user_name, title FROM directory_directoryuser WHERE deleted_at IS NULL "
            "AND user_name LIKE 'w%@quick.example'"
        ).fetchall())
        given = {row[0] for row in db.execute(
            "SELECT given_name FROM directory_directoryuser WHERE user_name LIKE 'w%@quick.example'"
        )}
        members = db.execute(
            "SELECT count(*) FROM directory_groupmembership m JOIN directory_group g "
            "ON g.id = m.group_id WHERE g.display_name = 'Everyone'"
        ).fetchone()[0]
    expected = {f"w{n}-{i}@quick.example": f"Writer {n}" for n in range(WRITERS) for i in range(5)}
    assert users == expected
    assert given == {"Patched"}
    assert members == WRITERS * 5


@pytest.mark.parametrize("path", ["/no-such-page/", "/users/not-a-uuid/", "/help/nothing/"])
def test_visitors_get_the_plain_404_page_not_the_url_list(quick_start, path):
    base, _, _ = quick_start
    response = requests.get(base + path, timeout=10)
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "URLconf" not in response.text and "scim/v1" not in response.text
    assert "DEBUG = True" not in response.text


def test_the_quick_start_serves_its_pages_with_their_styles(quick_start):
    base, _, _ = quick_start
    page = requests.get(base + "/accounts/login/", timeout=10)
    assert page.status_code == 200
    stylesheet = re.search(r'href="([^"]+\.css)"', page.text).group(1)
    css = requests.get(base + stylesheet, timeout=10)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
