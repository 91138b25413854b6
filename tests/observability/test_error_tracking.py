"""Error tracking: with SENTRY_DSN set, an unexpected error in a live gunicorn reaches the
collector (a small HTTP server here) without the key, the Authorization header, cookies or
the body."""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest
from django.db import connection

from tests.reliability.harness import Gunicorn
from tests.scim_client import USER_SCHEMA, ScimClient


class Collector(BaseHTTPRequestHandler):
    """Stores every envelope the SDK posts, decompressed."""

    envelopes: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        self.envelopes.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[type[Collector]]:
    Collector.envelopes = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Collector.port = server.server_address[1]
    try:
        yield Collector
    finally:
        server.shutdown()
        server.server_close()


def events_in(envelopes: list[bytes]) -> list[dict]:
    """The event items of Sentry envelopes: a header line, then item header and payload pairs."""
    events = []
    for envelope in envelopes:
        lines = envelope.split(b"\n")[1:]
        for header, payload in zip(lines[::2], lines[1::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


def test_an_unexpected_error_reaches_error_tracking_without_keys_headers_or_bodies(
    transactional_db, acme_key, collector, tmp_path
):
    server = Gunicorn(
        workers=1,
        log_path=tmp_path / "gunicorn.log",
        env={"SENTRY_DSN": f"http://publickey@127.0.0.1:{collector.port}/1"},
    ).start()
    okta = ScimClient(f"{server.url}/scim/v1", acme_key)
    okta.session.headers["Cookie"] = "sessionid=a-session-cookie-value"
    try:
        # A release whose migration has not run yet: the users table is missing.
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE directory_directoryuser RENAME TO directory_directoryuser_away")
        try:
            # The key pasted where it does not belong: a filter, and a field of the body.
            failed = okta.get(f"/Users?filter={quote(f'userName eq {json.dumps(acme_key)}')}")
            posted = okta.post("/Users", {"schemas": [USER_SCHEMA], "userName": "ada@acme.example",
                                          "nickName": acme_key})
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE directory_directoryuser_away RENAME TO directory_directoryuser")
        assert (failed.status_code, posted.status_code) == (500, 500)

        deadline = time.monotonic() + 15
        while len(events_in(collector.envelopes)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()

    events = events_in(collector.envelopes)
    assert len(events) >= 2, collector.envelopes
    for event in events:
        assert "SCIM request failed unexpectedly" in json.dumps(event)
        request = event["request"]
        assert request["url"].endswith("/scim/v1/Users")
        assert {name.lower() for name in request.get("headers", {})} & {"authorization", "cookie"} == set()
        assert "cookies" not in request and "data" not in request
    text = b"\n".join(collector.envelopes).decode()
    assert acme_key not in text and acme_key[:20] not in text
    assert "a-session-cookie-value" not in text and "ada@acme.example" not in text
    assert "atk_scim_" in text, "the query string is kept, with the key masked"
