"""One rule decides a request's client address: with N trusted proxies, the N-th
X-Forwarded-For entry from the right; forged entries further left buy nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory

from integrations.client_address import client_address
from integrations.models import ProvisioningEvent
from tests.scim_client import ScimClient

ROOT = Path(__file__).resolve().parent.parent.parent
BAD_KEY = "atk_scim_guessguessguessguessguessguessguessguess"


@pytest.mark.parametrize(
    ("trusted_proxies", "forwarded_for", "expected"),
    [
        (0, None, "192.0.2.1"),
        (0, "203.0.113.5", "192.0.2.1"),
        (1, None, "192.0.2.1"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "10.0.0.1, 203.0.113.5", "203.0.113.5"),
        (1, "10.0.0.1,203.0.113.5 ", "203.0.113.5"),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "not-an-address", "192.0.2.1"),
        (1, "fe80::1%eth0", "192.0.2.1"),
        (1, "203.0.113.5:443", "192.0.2.1"),
        (2, "10.0.0.1, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (2, "203.0.113.5", "192.0.2.1"),  # shorter than the proxies: the connection's address
        (3, "10.0.0.1, 203.0.113.5", "192.0.2.1"),
    ],
)
def test_the_client_is_the_entry_the_last_trusted_proxy_wrote(
    settings, trusted_proxies, forwarded_for, expected
):
    settings.TRUSTED_PROXY_COUNT = trusted_proxies
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", **headers)
    assert client_address(request) == expected


def _start_up(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_TRUSTED")}
    clean.update(env)
    code = "import django; django.setup(); from django.conf import settings; print(settings.TRUSTED_PROXY_COUNT)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "activtrak_scim.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DJANGO_BEHIND_TLS_PROXY": "true"}, "1"),
        ({"DJANGO_BEHIND_TLS_PROXY": "false"}, "0"),
        ({"DJANGO_BEHIND_TLS_PROXY": "true", "DJANGO_TRUSTED_PROXY_COUNT": "2"}, "2"),
        ({"DJANGO_BEHIND_TLS_PROXY": "true", "DJANGO_TRUSTED_PROXY_COUNT": "0"}, "0"),
    ],
)
def test_trusted_proxies_default_to_the_documented_tls_proxy(env, expected):
    result = _start_up(**env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_a_bad_trusted_proxy_count_stops_start_up_naming_the_variable(value):
    result = _start_up(DJANGO_TRUSTED_PROXY_COUNT=value)
    assert result.returncode != 0
    assert "DJANGO_TRUSTED_PROXY_COUNT" in result.stderr


@pytest.fixture
def failed_keys_limited(settings) -> None:
    settings.SCIM_AUTH_FAILURE_LIMIT = 3
    settings.SCIM_AUTH_FAILURE_WINDOW_SECONDS = 3600


def _guess(live_server, forwarded_for: str):
    return ScimClient(f"{live_server.url}/scim/v1", BAD_KEY).get(
        "/Users", headers={"X-Forwarded-For": forwarded_for}
    )


def test_behind_one_proxy_two_clients_get_separate_scim_failed_key_buckets(
    live_server, db, settings, failed_keys_limited
):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(3):
        assert _guess(live_server, "203.0.113.1").status_code == 401
    assert _guess(live_server, "203.0.113.1").status_code == 429

    # Another tenant's Okta behind the same balancer still gets its clear 401.
    assert _guess(live_server, "198.51.100.2").status_code == 401
    recorded = ProvisioningEvent.objects.filter(action="auth.failure").order_by("-id").first()
    assert recorded.client_ip == "198.51.100.2"


@pytest.mark.parametrize(
    ("trusted_proxies", "forwarded_for"),
    [
        (1, "10.0.0.{n}, 203.0.113.1"),
        (1, "bogus{n}, 203.0.113.1"),
        (1, "10.0.0.{n}, fe80::{n}%eth0"),
        (2, "198.51.100.{n}, 203.0.113.1, 10.0.0.2"),
        (0, "198.51.100.{n}"),
    ],
)
def test_forged_forwarded_for_entries_buy_no_fresh_scim_failed_key_bucket(
    live_server, db, settings, failed_keys_limited, trusted_proxies, forwarded_for
):
    settings.TRUSTED_PROXY_COUNT = trusted_proxies
    for n in range(1, 4):
        assert _guess(live_server, forwarded_for.format(n=n)).status_code == 401
    for n in range(4, 7):
        assert _guess(live_server, forwarded_for.format(n=n)).status_code == 429
