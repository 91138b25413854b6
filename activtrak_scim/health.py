"""Liveness and readiness probes, answered ahead of the rest of the middleware.

Load balancers and Kubernetes send the host's IP address as the Host header, which
DJANGO_ALLOWED_HOSTS does not list; answering here, before anything validates the host, keeps a
probe from getting 400 while the app is fine.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import Error as DatabaseError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from directory.errors import database_unavailable_headers


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no database, so a database outage does not take
    every host out of the load balancer (SCIM requests then answer 503 with Retry-After)."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: this host can reach PostgreSQL (one round trip)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse(
            {"status": "unavailable", "database": "unreachable"},
            status=503,
            headers=database_unavailable_headers(),
        )
    return JsonResponse({"status": "ok", "database": "ok"})


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
