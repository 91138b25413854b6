"""Liveness and readiness probes, answered ahead of the rest of the middleware.

Load balancers and Kubernetes send the host's IP address as the Host header, which
DJANGO_ALLOWED_HOSTS does not list; answering here, before anything validates the host, keeps a
probe from getting 400 while the app is fine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import Error as DatabaseError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from directory.errors import database_error_summary, database_unavailable

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no database, so a database outage does not take
    every host out of the load balancer (SCIM requests then answer 503 with Retry-After)."""
    return JsonResponse({"status": "ok"})


def database_check() -> DatabaseError | None:
    """One round trip to PostgreSQL: None when it answers, else why not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return exc
    return None


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: this host can reach PostgreSQL (one round trip)."""
    problem = database_check()
    if problem is not None:
        return JsonResponse(
            {"status": "unavailable", "database": "unreachable"},
            status=503,
            headers=database_unavailable(problem, what="/readyz"),
        )
    return JsonResponse({"status": "ok", "database": "ok"})


def database_check_at_start() -> None:
    """Say once, as the server starts, when the database cannot be reached: a wrong
    DATABASE_URL (a host, port, database name or password) would otherwise look like an outage,
    every SCIM request answering 503. The server keeps starting, since the database may just
    be coming up; the check runs beside it so a database that does not answer delays nothing."""

    def check() -> None:
        try:
            problem = database_check()
        finally:
            connection.close()  # this thread's own connection
        if problem is not None:
            logger.error(
                "The database cannot be reached at start (%s). Check DATABASE_URL; until the "
                "database answers, SCIM and agent requests and /readyz answer 503.",
                database_error_summary(problem),
            )

    threading.Thread(target=check, name="database-check-at-start", daemon=True).start()


PROBES = {"/healthz": healthz, "/readyz": readyz}


class HealthCheckMiddleware:
    """Answer GET/HEAD of the probe paths whatever the Host header says."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
