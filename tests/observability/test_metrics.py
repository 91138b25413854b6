"""/metrics of a live four-worker gunicorn: counts add up across workers (and survive workers
that die), requests by resource, method and status, durations, refused keys by reason,
rate-limited requests and database outages; only for a caller presenting METRICS_TOKEN."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from integrations.keys import generate_key
from tests.reliability.harness import Gunicorn, TcpProxy

TOKEN = "metrics-token-for-tests"
RATE_LIMIT = 20


@pytest.fixture(scope="module")
def proxied_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[tuple]:
    samples = tmp_path_factory.mktemp("metrics")
    (samples / "counter_99999999.db").write_bytes(b"left by an earlier run")
    with django_db_blocker.unblock():
        proxy = TcpProxy(int(connection.settings_dict.get("PORT") or 5432)).start()
        server = Gunicorn(
            workers=4,
            db_port=proxy.port,
            log_path=tmp_path_factory.mktemp("gunicorn") / "gunicorn.log",
            env={"METRICS_TOKEN": TOKEN, "SCIM_RATE_LIMIT_REQUESTS": str(RATE_LIMIT),
                 "PROMETHEUS_MULTIPROC_DIR": str(samples)},
        ).start()
        server.samples = samples
    try:
        yield server, proxy
    finally:
        server.stop()
        proxy.cut()


@pytest.fixture
def server(proxied_server) -> Gunicorn:
    return proxied_server[0]


def scrape(server: Gunicorn, token: str = TOKEN) -> dict[tuple, float]:
    response = requests.get(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def fresh_connection_get(url: str, **kwargs) -> requests.Response:
    """One request on its own connection, so requests spread over the workers."""
    return requests.get(url, headers={"Connection": "close", **kwargs.pop("headers", {})},
                        timeout=30, **kwargs)


def test_counts_add_up_across_workers_and_outlive_them(server, transactional_db, acme_key):
    before = scrape(server)
    auth = {"Authorization": f"Bearer {acme_key}"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        users = list(pool.map(
            lambda _: fresh_connection_get(f"{server.url}/scim/v1/Users?count=1", headers=auth),
            range(12),
        ))
        discovery = list(pool.map(
            lambda _: fresh_connection_get(f"{server.url}/scim/v1/ServiceProviderConfig",
                                           headers=auth),
            range(3),
        ))
        pages = list(pool.map(
            lambda _: fresh_connection_get(f"{server.url}/accounts/login/"), range(4)
        ))
    assert [r.status_code for r in users + discovery + pages] == [200] * 19

    def added(samples: dict, name: str, **labels: str) -> float:
        return value(samples, name, **labels) - value(before, name, **labels)

    def assert_totals(samples: dict) -> None:
        requests_total = "activtrak_http_requests_total"
        assert added(samples, requests_total, resource="Users", method="GET", status="200") == 12
        assert added(samples, requests_total, resource="discovery", method="GET", status="200") == 3
        assert added(samples, requests_total, resource="pages", method="GET", status="200") == 4
        durations = "activtrak_http_request_duration_seconds_count"
        assert added(samples, durations, resource="Users", method="GET") == 12
        assert added(samples, "activtrak_http_request_duration_seconds_bucket",
                     resource="Users", method="GET", le="+Inf") == 12
        assert added(samples, "activtrak_http_request_duration_seconds_sum",
                     resource="Users", method="GET") > 0

    # Each scrape is answered by whichever worker accepts it: every one must see the total.
    for _ in range(8):
        assert_totals(fresh_scrape(server))

    killed = set(server.kill_workers())
    deadline = time.monotonic() + 20
    while killed & set(server.worker_pids()) or len(server.worker_pids()) < len(killed):
        assert time.monotonic() < deadline, "gunicorn did not replace its workers"
        time.sleep(0.05)
    assert_totals(fresh_scrape(server))
    # The exited workers' samples were folded into one file per type, theirs deleted.
    pids = {name.stem.split("_")[1] for name in server.samples.glob("*.db")}
    assert pids <= {"archive"} | {str(pid) for pid in server.worker_pids()}
    assert "archive" in pids


def fresh_scrape(server: Gunicorn) -> dict:
    deadline = time.monotonic() + 10
    while True:
        try:
            return scrape(server)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_refused_keys_are_counted_by_reason(server, transactional_db):
    before = scrape(server)
    url = f"{server.url}/scim/v1/Users"
    headers = {
        "missing": {},
        "scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
        "doubled": {"Authorization": f"Bearer Bearer {generate_key()}"},
        "malformed": {"Authorization": "Bearer atk_scim_not-a-key"},
        "unknown": {"Authorization": f"Bearer {generate_key()}"},
    }
    for reason, header in headers.items():
        assert fresh_connection_get(url, headers=header).status_code == 401, reason

    after = scrape(server)
    name = "activtrak_scim_authentication_failures_total"
    for reason in headers:
        assert value(after, name, reason=reason) - value(before, name, reason=reason) == 1, reason
    added_401 = value(after, "activtrak_http_requests_total", resource="Users", method="GET",
                      status="401") - value(before, "activtrak_http_requests_total",
                                            resource="Users", method="GET", status="401")
    assert added_401 == len(headers)


def test_rate_limited_requests_are_counted(server, transactional_db, globex_key):
    before = scrape(server)
    auth = {"Authorization": f"Bearer {globex_key}"}
    statuses = [
        fresh_connection_get(f"{server.url}/scim/v1/Groups", headers=auth).status_code
        for _ in range(RATE_LIMIT + 5)
    ]
    assert statuses.count(429) == 5 and statuses.count(200) == RATE_LIMIT

    after = scrape(server)
    name = "activtrak_rate_limited_requests_total"
    assert value(after, name, resource="Groups") - value(before, name, resource="Groups") == 5


def test_database_outages_are_counted_and_metrics_still_answer(
    proxied_server, transactional_db, acme_key
):
    server, proxy = proxied_server
    before = scrape(server)
    proxy.cut()
    try:
        scim = fresh_connection_get(f"{server.url}/scim/v1/Users",
                                    headers={"Authorization": f"Bearer {acme_key}"})
        ready = fresh_connection_get(f"{server.url}/readyz")
        during = scrape(server)  # touches no database
    finally:
        proxy.restore()
    assert (scim.status_code, ready.status_code) == (503, 503)

    name = "activtrak_database_unavailable_total"
    assert value(during, name, resource="Users") - value(before, name, resource="Users") == 1
    assert value(during, name, resource="health") - value(before, name, resource="health") == 1


def test_metrics_need_the_token_and_ignore_the_host_name(server):
    url = f"{server.url}/metrics"
    assert requests.get(url, timeout=10).status_code == 401
    wrong = requests.get(url, headers={"Authorization": "Bearer not-the-token"}, timeout=10)
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert "activtrak" not in wrong.text
    bare = requests.get(url, headers={"Authorization": TOKEN}, timeout=10)
    assert bare.status_code == 401, "the token must come as a bearer token"
    # Prometheus scrapes each host by its address, which DJANGO_ALLOWED_HOSTS does not list.
    by_address = requests.get(
        url, headers={"Authorization": f"Bearer {TOKEN}", "Host": "10.1.2.3:8000"}, timeout=10
    )
    assert by_address.status_code == 200 and "activtrak_http_requests_total" in by_address.text


def test_metrics_count_under_the_documented_default_with_no_samples_directory_set(
    tmp_path, transactional_db, acme_key
):
    """The README's gunicorn with METRICS_TOKEN alone: gunicorn picks the samples directory
    itself, and /metrics must still answer real counts, not an empty 200."""
    server = Gunicorn(workers=2, log_path=tmp_path / "gunicorn.log", env={"METRICS_TOKEN": TOKEN})
    server.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server.start()
    try:
        auth = {"Authorization": f"Bearer {acme_key}"}
        for _ in range(3):
            assert fresh_connection_get(f"{server.url}/scim/v1/Users", headers=auth).status_code == 200
        for _ in range(4):  # whichever worker answers the scrape has the host's totals
            samples = fresh_scrape(server)
            assert value(samples, "activtrak_http_requests_total",
                         resource="Users", method="GET", status="200") == 3, samples
    finally:
        server.stop()
