"""Keys and secrets on a live multi-worker gunicorn: a regenerated or revoked key is refused by
every worker at once (no per-process cache), the rate limit is one count across workers, and
keys, Okta's passwords and session cookies never reach logs, events or error bodies."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from integrations.models import ApiKey, IntegrationInstance, ProvisioningEvent
from integrations.services import (
    agent_key_regenerate,
    api_key_regenerate,
    api_key_revoke,
    instance_delete,
)
from tests.reliability.harness import ROOT, Gunicorn
from tests.scim_client import ScimClient, okta_user

PARALLEL = 24


@pytest.fixture(scope="module")
def limited_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """Four workers with a small per-key limit and everything logged at DEBUG."""
    server = Gunicorn(
        workers=4,
        env={"SCIM_RATE_LIMIT_REQUESTS": "30", "SCIM_RATE_LIMIT_WINDOW_SECONDS": "3600",
             "LOG_LEVEL": "DEBUG"},
        log_path=tmp_path_factory.mktemp("gunicorn") / "gunicorn.log",
    )
    with django_db_blocker.unblock():
        server.start()
    try:
        yield server
    finally:
        server.stop()


def statuses_in_parallel(server: Gunicorn, key: str, count: int = PARALLEL) -> list[int]:
    """``count`` requests at once, each on its own connection, so every worker gets some."""

    def one(_):
        return ScimClient(f"{server.url}/scim/v1", key).get("/Users?count=1").status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_regenerated_and_revoked_keys_are_refused_by_every_worker_at_once(
    gunicorn_server, transactional_db, acme, key_factory
):
    old_key = key_factory(acme, "Okta")
    instance = IntegrationInstance.objects.get(account=acme, name="Okta")
    assert set(statuses_in_parallel(gunicorn_server, old_key)) == {200}  # every worker has seen it

    new_key = api_key_regenerate(instance=instance)
    assert set(statuses_in_parallel(gunicorn_server, old_key)) == {401}
    assert set(statuses_in_parallel(gunicorn_server, new_key)) == {200}

    api_key_revoke(instance=instance)
    assert set(statuses_in_parallel(gunicorn_server, new_key)) == {401}

    other_key = key_factory(acme, "Entra")
    assert set(statuses_in_parallel(gunicorn_server, other_key)) == {200}
    instance_delete(instance=IntegrationInstance.objects.get(account=acme, name="Entra"))
    assert set(statuses_in_parallel(gunicorn_server, other_key)) == {401}


def test_a_regenerated_agent_key_is_refused_by_every_worker_at_once(gunicorn_server, transactional_db, acme):
    def check_ins(key: str) -> set[int]:
        def one(index: int) -> int:
            return requests.post(
                f"{gunicorn_server.url}/api/agents/v1/check-in",
                json={"logon_name": f"ACME\\user{index}", "machine_name": f"PC-{index}"},
                headers={"Authorization": f"Bearer {key}"}, timeout=30,
            ).status_code

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            return set(pool.map(one, range(PARALLEL)))

    old_key = agent_key_regenerate(account=acme)
    assert check_ins(old_key) <= {200, 201}
    new_key = agent_key_regenerate(account=acme)
    assert check_ins(old_key) == {401}
    assert check_ins(new_key) == {200}


def test_the_rate_limit_is_one_count_across_workers(limited_server, transactional_db, acme, key_factory):
    key = key_factory(acme, "Okta")
    statuses = statuses_in_parallel(limited_server, key, 60)
    assert statuses.count(200) == 30 and statuses.count(429) == 30, statuses


def test_keys_passwords_and_session_cookies_never_reach_logs_events_or_errors(
    limited_server, transactional_db, acme, globex, key_factory
):
    key = key_factory(acme, "Okta")
    globex_key = key_factory(globex, "Okta")
    revoked = key_factory(acme, "Old")
    api_key_revoke(instance=IntegrationInstance.objects.get(account=acme, name="Old"))
    unknown = key[:-6] + ("AAAAAA" if not key.endswith("AAAAAA") else "BBBBBB")
    password = "Okta-Sent-This-Pa55word-7q"
    okta = ScimClient(f"{limited_server.url}/scim/v1", key)
    bodies: list[str] = []

    def keep(response: requests.Response) -> requests.Response:
        bodies.append(response.text)
        return response

    created = keep(okta.post("/Users", okta_user("secret@acme.example", password=password)))
    assert created.status_code == 201 and password not in created.text
    user_id = created.json()["id"]
    keep(okta.put(f"/Users/{user_id}", okta_user("secret@acme.example", password=password)))
    keep(okta.patch(f"/Users/{user_id}", [{"op": "replace", "value": {"password": password}}]))
    keep(okta.post("/Users", okta_user("secret@acme.example", password=password)))  # 409
    keep(okta.post("/Users", {"userName": "bad@acme.example", "password": password, "active": "maybe"}))
    keep(okta.post("/Users", {"userName": "", "password": password}))
    keep(okta.patch(f"/Users/{user_id}", [{"op": "add", "path": "password", "value": [password]}]))
    for presented in (revoked, unknown, f"Bearer {key}", key[:20], globex_key + "x"):
        keep(ScimClient(f"{limited_server.url}/scim/v1", presented).get("/Users"))
    keep(okta.get("/Users", params={"attributes": key}))

    # A signed-in operator's session cookie.
    operator = get_user_model().objects.create_superuser("operator", "op@example.com")
    # gunicorn runs the production hashers, not the tests' fast one.
    operator.password = PBKDF2PasswordHasher().encode(password, PBKDF2PasswordHasher().salt())
    operator.save(update_fields=["password"])
    browser = requests.Session()
    login_page = browser.get(f"{limited_server.url}/admin/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
    signed_in = browser.post(
        f"{limited_server.url}/admin/login/?next=/admin/",
        data={"username": "operator", "password": password, "csrfmiddlewaretoken": csrf},
        timeout=10,
    )
    assert signed_in.status_code == 200 and "sessionid" in browser.cookies
    session_cookie = browser.cookies["sessionid"]
    browser.get(f"{limited_server.url}/admin/integrations/apikey/", timeout=10)

    limited_server.stop()  # flush everything it wrote
    log = limited_server.log_path.read_text(errors="replace")
    assert "POST /scim/v1/Users" in log  # the log really is the server's
    events = "\n".join(
        " ".join(str(v) for v in row)
        for row in ProvisioningEvent.objects.values_list("action", "target_id", "target_display", "detail")
    )
    digests = list(ApiKey.objects.values_list("digest", flat=True))
    secrets = {
        "key": key, "globex key": globex_key, "revoked key": revoked, "unknown key": unknown,
        "key secret part": key.split("_")[-1][8:], "password": password,
        "session cookie": session_cookie, **{f"digest {i}": d for i, d in enumerate(digests)},
    }
    for where, text in {"gunicorn and Django log": log, "events": events,
                        "response bodies": "\n".join(bodies)}.items():
        for name, secret in secrets.items():
            assert secret not in text, f"{name} found in {where}"


def test_check_deploy_is_clean_with_production_settings():
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SCIM_", "DATABASE_"))
    }
    env.update({
        "DJANGO_SECRET_KEY": "x" * 20 + "production-like-secret-key-of-fifty-chars+",
        "SCIM_KEY_HMAC_SECRET": "h" * 20 + "production-like-key-hmac-secret-of-fifty+",
        "DJANGO_ALLOWED_HOSTS": "api.example.com",
        "DATABASE_URL": "postgres://activtrak@db.internal:5432/activtrak",
        "SCIM_PUBLIC_BASE_URL": "https://api.example.com/scim/v1",
    })
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_pages_deny_framing_and_carry_a_content_security_policy(gunicorn_server, transactional_db):
    page = requests.get(f"{gunicorn_server.url}/accounts/login/", timeout=10)
    assert page.status_code == 200
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
