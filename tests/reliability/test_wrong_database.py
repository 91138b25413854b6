"""A DATABASE_URL that is wrong (a closed port, a database that does not exist, a password the
server refuses) under a live gunicorn: it keeps starting, says once at ERROR what failed, and
every 503 it answers is logged with the driver's reason, never with the password."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from django.db import connection

from integrations.keys import generate_key
from tests.reliability.harness import Gunicorn, free_port

PASSWORD = "Tr0ub4dor-and-3"
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


@contextmanager
def password_refusing_server() -> Iterator[int]:
    """A loopback server speaking just enough of PostgreSQL's protocol to ask for a password
    and refuse it, repeating the password it got in its message (as a careless proxy might),
    since the test database accepts any password."""
    listener = socket.create_server(("127.0.0.1", 0))

    def read_exactly(client: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = client.recv(size - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def refuse(client: socket.socket) -> None:
        with client:
            while True:  # SSL and GSS encryption requests come before the startup message
                (length,) = struct.unpack("!i", read_exactly(client, 4))
                (code,) = struct.unpack("!i", read_exactly(client, 4))
                read_exactly(client, length - 8)
                if code not in (SSL_REQUEST, GSSENC_REQUEST):
                    break
                client.sendall(b"N")
            client.sendall(b"R" + struct.pack("!ii", 8, 3))  # cleartext password, please
            kind, length = struct.unpack("!ci", read_exactly(client, 5))
            sent = read_exactly(client, length - 4).rstrip(b"\0").decode()
            message = f'password authentication failed for user "postgres" (got "{sent}")'
            fields = b"".join(
                key + value.encode() + b"\0"
                for key, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", "28P01"),
                                   (b"M", message))
            ) + b"\0"
            client.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_quietly, args=(refuse, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def _quietly(function, *args) -> None:
    try:
        function(*args)
    except (OSError, ConnectionError):
        pass


def log_lines(server: Gunicorn) -> list[dict]:
    return [json.loads(raw) for raw in server.log_path.read_text().splitlines() if raw.strip()]


def wait_for_lines(server: Gunicorn, matches, timeout: float = 20) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in log_lines(server) if matches(line)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.mark.parametrize("case", ["closed port", "no such database", "password refused"])
def test_a_wrong_database_url_is_named_at_start_and_in_every_503_line(case, tmp_path):
    test_db = connection.settings_dict
    host, port = test_db.get("HOST") or "127.0.0.1", int(test_db.get("PORT") or 5432)
    with password_refusing_server() as refusing_port:
        database, expected = {
            "closed port": (
                f"{host}:{(closed := free_port())}/{test_db['NAME']}",
                f'port {closed} failed: Connection refused',
            ),
            "no such database": (
                f"{host}:{port}/activtrak_missing",
                'database "activtrak_missing" does not exist',
            ),
            "password refused": (
                f"127.0.0.1:{refusing_port}/activtrak",
                'password authentication failed for user "postgres"',
            ),
        }[case]
        server = Gunicorn(
            workers=2, log_path=tmp_path / "gunicorn.log",
            env={"DATABASE_URL": f"postgres://postgres:{PASSWORD}@{database}"},
        ).start()
        try:
            # Once, from the first worker, while the server goes on starting.
            (at_start,) = wait_for_lines(server, lambda line: line["level"] == "ERROR")
            assert expected in at_start["message"], at_start
            assert "DATABASE_URL" in at_start["message"] and "503" in at_start["message"]
            assert "exception" not in at_start

            scim = requests.get(f"{server.url}/scim/v1/Users", timeout=30,
                                headers={"Authorization": f"Bearer {generate_key()}"})
            ready = requests.get(f"{server.url}/readyz", timeout=30)
            assert (scim.status_code, ready.status_code) == (503, 503)
            assert requests.get(f"{server.url}/healthz", timeout=30).status_code == 200

            for what in ("SCIM request", "/readyz"):
                (line,) = wait_for_lines(
                    server, lambda line, what=what: line["message"].startswith(what + " failed")
                )
                assert line["level"] == "WARNING" and "exception" not in line, line
                assert expected in line["message"], line
            assert server.process.poll() is None
            assert len([line for line in log_lines(server) if line["level"] == "ERROR"
                        and line["logger"] == at_start["logger"]]) == 1
        finally:
            server.stop()
    text = server.log_path.read_text()
    assert PASSWORD not in text
    if case == "password refused":
        assert "[redacted]" in text, "the refusing server repeated the password"
