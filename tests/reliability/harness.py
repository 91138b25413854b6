"""A production-shaped server for reliability tests: gunicorn with several workers, started from
the README's gunicorn.conf.py on a free loopback port, talking to the pytest-django test
database (optionally through a TCP proxy the test can cut).

Everything here only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from tests.server_process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]


def database_url(*, port: int | None = None) -> str:
    """The test database pytest-django created, as a DATABASE_URL (optionally via ``port``)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "postgres")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{auth}@{host}:{port or db.get('PORT') or 5432}/{quote(db['NAME'])}"


class Gunicorn(ServerProcess):
    """gunicorn activtrak_scim.wsgi -c gunicorn.conf.py, as the README runs it."""

    def __init__(self, *, workers: int = 4, db_port: int | None = None, env: dict | None = None,
                 log_path: Path) -> None:
        port = free_port()
        super().__init__(
            [sys.executable, "-m", "gunicorn", "activtrak_scim.wsgi", "-c", "gunicorn.conf.py"],
            port=port,
            env={
                **os.environ,
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_WORKERS": str(workers),
                "DATABASE_URL": database_url(port=db_port),
                "DJANGO_SECRET_KEY": settings.SECRET_KEY,
                "SCIM_KEY_HMAC_SECRET": settings.SCIM_KEY_HMAC_SECRET,
                "DJANGO_DEBUG": "false",
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DJANGO_SECURE_SSL_REDIRECT": "false",
                "DJANGO_SECURE_COOKIES": "false",
                "DATABASE_CONNECT_TIMEOUT": "3",
                **(env or {}),
            },
            cwd=ROOT,
            log_path=log_path,
        )

    def start(self) -> Gunicorn:
        super().start(probe="/healthz", workers=self.workers)
        return self

    @property
    def workers(self) -> int:
        return int(self.env["GUNICORN_WORKERS"])

    def wait_for_workers(self, count: int | None = None, timeout: float = 20) -> None:
        super().wait_for_workers(self.workers if count is None else count, timeout)

    def kill_workers(self) -> list[int]:
        """SIGKILL every worker (the master starts new ones), as the OOM killer would."""
        pids = self.worker_pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids


class TcpProxy:
    """A loopback TCP forwarder to PostgreSQL that a test can cut and restore: "the database went
    away" without touching the shared PostgreSQL server."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.accepted = 0
        self.frozen = False

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.accepted += 1
                self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                self._while_frozen()
                data = source.recv(65536)
                if not data:
                    break
                self._while_frozen()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _while_frozen(self) -> None:
        while self.frozen:
            time.sleep(0.02)

    def freeze(self) -> None:
        """Keep every connection open but pass nothing: a network partition, where the database
        neither answers nor refuses."""
        self.frozen = True

    def thaw(self) -> None:
        self.frozen = False

    def cut(self) -> None:
        """Stop listening and drop every connection: what a stopped PostgreSQL looks like."""
        if self.listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            try:
                self.listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        with self.lock:
            connections, self.connections = self.connections, []
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def restore(self) -> None:
        self.start()
