"""Logs of a live gunicorn: every line one JSON object with a timestamp, request lines with the
request id the response carries, SCIM lines with the account and instance, and never a key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from integrations.keys import generate_key
from integrations.models import IntegrationInstance
from tests.reliability.harness import Gunicorn
from tests.scim_client import USER_SCHEMA, ScimClient


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Gunicorn]:
    """Two workers with no trusted proxy, so a client's X-Request-ID is not believed."""
    server = Gunicorn(
        workers=2,
        log_path=tmp_path_factory.mktemp("gunicorn") / "gunicorn.log",
        env={"DJANGO_TRUSTED_PROXY_COUNT": "0", "METRICS_TOKEN": ""},
    )
    with django_db_blocker.unblock():
        server.start()
    try:
        yield server
    finally:
        server.stop()


def log_lines(server: Gunicorn) -> list[dict]:
    lines = []
    for raw in server.log_path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            pytest.fail(f"not a JSON log line: {raw!r}")
    return lines


def lines_of(server: Gunicorn, request_id: str, *, logger: str | None = None) -> list[dict]:
    """The lines of one request; the access line is written just after the response is sent."""
    deadline = time.monotonic() + 5
    while True:
        found = [
            line for line in log_lines(server)
            if line.get("request_id") == request_id and logger in (None, line["logger"])
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_every_line_is_json_and_scim_lines_carry_request_id_account_and_instance(
    server, transactional_db, acme, acme_key
):
    okta = ScimClient(f"{server.url}/scim/v1", acme_key)
    instance = IntegrationInstance.objects.get(account=acme)
    forged_id = "forged-by-the-client"

    created = okta.post(
        "/Users",
        {"schemas": [USER_SCHEMA], "userName": "ada@acme.example", "name": {"givenName": acme_key}},
        headers={"X-Request-ID": forged_id},
    )
    assert created.status_code == 201
    # The key pasted into a filter: query strings are never logged.
    lookup = okta.get(f'/Users?filter=userName eq "{acme_key}"')
    missing = okta.get("/Users/00000000-0000-0000-0000-000000000000")
    refused = ScimClient(f"{server.url}/scim/v1", generate_key()).get("/Users")
    page = requests.get(f"{server.url}/accounts/login/", timeout=10)
    assert (lookup.status_code, missing.status_code, refused.status_code, page.status_code) == (
        200, 404, 401, 200,
    )

    responses = [created, lookup, missing, refused, page]
    ids = [response.headers["X-Request-ID"] for response in responses]
    assert len(set(ids)) == len(ids) and forged_id not in ids
    assert all(len(request_id) == 32 for request_id in ids)

    for response, request_id in zip(responses, ids, strict=True):
        (access,) = lines_of(server, request_id, logger="gunicorn.access")
        assert access["status"] == response.status_code
        assert access["method"] == response.request.method
        assert access["path"] == response.request.path_url.split("?")[0]
        assert access["remote_addr"] == "127.0.0.1" and access["duration_ms"] > 0
        assert access["bytes"] == len(response.content) and access["user_agent"] == response.request.headers["User-Agent"]
        if response is refused or response is page:
            assert "account" not in access
        else:
            assert (access["account"], access["instance"]) == ("acme", instance.pk)

    # An app line written during an authenticated SCIM request (Django's "Not Found").
    app_lines = [line for line in lines_of(server, ids[2]) if line["logger"] == "django.request"]
    assert app_lines and app_lines[0]["level"] == "WARNING"
    assert (app_lines[0]["account"], app_lines[0]["instance"]) == ("acme", instance.pk)

    lines = log_lines(server)
    assert {"gunicorn.error", "gunicorn.access", "django.request"} <= {line["logger"] for line in lines}
    for line in lines:
        assert datetime.fromisoformat(line["timestamp"]).tzinfo is not None
        assert line["message"]
    text = server.log_path.read_text()
    assert acme_key not in text and acme_key[:20] not in text
    assert "ada@acme.example" not in text, "neither bodies nor query strings are logged"


def test_metrics_are_absent_when_no_token_is_set(server):
    response = requests.get(f"{server.url}/metrics", headers={"Authorization": "Bearer "}, timeout=10)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("proxies", "sent", "kept"),
    [
        (1, "7f3c2a9e-1b4d-4c55-9a0e-3f6b8d2c1e07", True),
        (1, "Root=1-5f1b2c3d-abcdef0123456789abcdef01", True),
        (0, "7f3c2a9e-1b4d-4c55-9a0e-3f6b8d2c1e07", False),
        (1, "has spaces in it", False),
        (1, "x" * 129, False),
        (1, "id\u00e9", False),
        (1, "atk_scim_" + "A" * 42, False),
    ],
)
def test_the_request_id_is_taken_from_a_trusted_proxy_only_when_it_is_sane(
    live_server, settings, proxies, sent, kept
):
    settings.TRUSTED_PROXY_COUNT = proxies
    response = requests.get(
        f"{live_server.url}/accounts/login/", headers={"X-Request-ID": sent.encode()}, timeout=10
    )
    returned = response.headers["X-Request-ID"]
    if kept:
        assert returned == sent
    else:
        assert returned != sent and len(returned) == 32 and int(returned, 16) >= 0


def test_a_disallowed_host_is_logged_as_a_warning_without_a_traceback(server):
    # Scanners send any Host they like; each such request is noise, not an error for Sentry.
    response = requests.get(f"{server.url}/accounts/login/", headers={"Host": "scanner.example"},
                            timeout=10)
    assert response.status_code == 400
    (line,) = lines_of(server, response.headers["X-Request-ID"], logger="django.security.DisallowedHost")
    assert line["level"] == "WARNING" and "exception" not in line, line
    assert "scanner.example" in line["message"]
