"""Django's PostgreSQL backend, with a connection health check that sends nothing when the
connection is plainly alive.

``CONN_HEALTH_CHECKS`` makes Django run ``SELECT 1`` before the first query of every request
that reuses a connection. That round trip was a quarter of the cost of a request that runs one
query. A connection the server ended while it sat idle (a restart, a failover,
``pg_terminate_backend``, a pooler's idle timeout) has something waiting on its socket: the
server's closing message, or end of file. So only then does this backend run Django's check,
which closes the dead connection and lets the request open a new one. A connection whose peer
vanished without a word hangs either way, until the TCP timeouts.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.server_spoke_while_idle()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def server_spoke_while_idle(self) -> bool:
        """Whether anything (data, end of file, an error) waits on the idle connection's socket.

        Between requests nothing should: every result has been read.
        """
        try:
            if self.connection.broken:
                return True
            fd = self.connection.pgconn.socket
        except psycopg.Error:
            return True
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
