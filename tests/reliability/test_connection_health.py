"""Reused database connections are checked before a request uses them, without a round trip
when the connection is plainly alive (activtrak_scim/postgresql/base.py)."""

from __future__ import annotations

import select
import time

import psycopg
from django.db import connection

from tests.reliability.harness import Gunicorn, database_url
from tests.scim_client import ScimClient


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def terminate(where: str, params: list) -> int:
    """pg_terminate_backend from a connection of its own, as an operator or a failover would."""
    with psycopg.connect(database_url(), autocommit=True) as other:
        rows = other.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {where}", params
        ).fetchall()
    return len(rows)


def test_a_live_idle_connection_is_reused_without_a_round_trip(transactional_db, tmp_path):
    backend_pid()
    raw = connection.connection
    trace = tmp_path / "libpq.trace"
    with open(trace, "w") as sink:
        raw.pgconn.trace(sink.fileno())
        try:
            connection.health_check_done = False  # what the start of every request does
            with connection.cursor():
                pass  # a request's first cursor runs the health check
        finally:
            raw.pgconn.untrace()
    assert connection.connection is raw
    assert trace.read_text() == "", "the health check sent something: " + trace.read_text()


def test_a_connection_the_server_ended_while_idle_is_replaced_before_use(transactional_db):
    pid = backend_pid()
    dead = connection.connection
    try:
        assert terminate("pid = %s", [pid]) == 1
        select.select([dead.pgconn.socket], [], [], 5)  # the server's goodbye has arrived

        connection.health_check_done = False
        assert backend_pid() != pid  # a fresh connection, and no error
        assert connection.connection is not dead
    finally:
        connection.close()  # whatever happened, the next test gets a working connection


def test_scim_requests_after_the_server_ended_every_connection_all_succeed(
    django_db_blocker, transactional_db, acme_key, tmp_path
):
    # Connections kept between requests, as in production (the suite itself runs without).
    server = Gunicorn(workers=3, env={"DATABASE_CONN_MAX_AGE": "60"}, log_path=tmp_path / "gunicorn.log")
    with django_db_blocker.unblock():
        server.start()
    okta = ScimClient(f"{server.url}/scim/v1", acme_key)
    try:
        assert okta.create_user("ann@acme.example").status_code == 201
        for _ in range(12):  # most likely every worker holds a connection now
            assert okta.get("/Users?count=1").status_code == 200
        ended = terminate(
            "datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s"
            " AND backend_type = 'client backend'",
            [backend_pid()],
        )
        assert ended >= 1
        time.sleep(0.2)

        statuses = [okta.find_user("ann@acme.example").status_code for _ in range(12)]
        statuses.append(okta.create_user("bob@acme.example").status_code)
        assert statuses == [200] * 12 + [201]
    finally:
        server.stop()
