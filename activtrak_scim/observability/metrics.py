"""Prometheus metrics: what every request was and how it went, served at /metrics.

Under gunicorn each worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR (set up by
gunicorn.conf.py), and /metrics adds up the files of every worker, living or dead, so any worker
answers with the host's totals. Without that directory (runserver, tests in one process) the
metrics live in the process.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from activtrak_scim.observability.worker_samples import samples_locked

METRICS_PATH = "/metrics"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
SCIM_DISCOVERY = {"ServiceProviderConfig", "Schemas", "ResourceTypes"}

REQUESTS = Counter(
    "activtrak_http_requests",
    "Requests answered, by resource, method and status.",
    ["resource", "method", "status"],
)
DURATION = Histogram(
    "activtrak_http_request_duration_seconds",
    "Time from the request reaching Django to its response, by resource and method.",
    ["resource", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
AUTHENTICATION_FAILURES = Counter(
    "activtrak_scim_authentication_failures",
    "SCIM requests whose key was refused, by reason (missing, scheme, doubled, malformed, "
    "unknown, revoked, deleted, replaced).",
    ["reason"],
)
RATE_LIMITED = Counter(
    "activtrak_rate_limited_requests",
    "Requests answered 429: over an API key's limit, or too many failed keys from one address.",
    ["resource"],
)
DATABASE_UNAVAILABLE = Counter(
    "activtrak_database_unavailable",
    "Requests that failed because PostgreSQL could not be reached (503 with Retry-After).",
    ["resource"],
)


def resource_of(path: str) -> str:
    """A small, fixed set of labels: never the path itself, which holds ids and user input."""
    if path.startswith("/scim/"):
        first = path.removeprefix("/scim/v1").lstrip("/").split("/", 1)[0]
        if first in ("Users", "Groups"):
            return first
        return "discovery" if first in SCIM_DISCOVERY else "scim_other"
    if path.startswith("/api/agents/"):
        return "agents"
    if path.startswith("/admin/"):
        return "admin"
    if path.startswith("/" + settings.STATIC_URL.strip("/") + "/"):
        return "static"
    if path in ("/healthz", "/readyz"):
        return "health"
    if path == METRICS_PATH:
        return "metrics"
    return "pages"


def exposition() -> bytes:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    with samples_locked(directory, exclusive=False):
        return generate_latest(registry)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics, for a caller with METRICS_TOKEN as its bearer token; 404 when it is unset."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("No metrics here.")
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        presented = ""
    if not hmac.compare_digest(presented.strip().encode(), token.encode()):
        return HttpResponse(
            "A bearer token (METRICS_TOKEN) is required.\n",
            status=401,
            content_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times every request; answers /metrics ahead of host validation and the HTTPS
    redirect, since Prometheus scrapes each host by its address over the private network.

    Reads what the SCIM edge marks on the request (``scim_auth_failure``) and the response
    status, so the apps need not know about metrics."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        if request.path_info == METRICS_PATH:
            response = metrics_view(request)
        else:
            response = self.get_response(request)
        self.record(request, response, time.perf_counter() - started)
        return response

    @staticmethod
    def record(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
        resource = resource_of(request.path_info)
        method = request.method if request.method in METHODS else "other"
        status = response.status_code
        REQUESTS.labels(resource, method, str(status)).inc()
        DURATION.labels(resource, method).observe(seconds)
        reason = getattr(request, "scim_auth_failure", None)
        if reason:
            AUTHENTICATION_FAILURES.labels(reason).inc()
        if status == 429:
            RATE_LIMITED.labels(resource).inc()
        if status == 503:  # SCIM, the agent API, /readyz and the pages alike
            DATABASE_UNAVAILABLE.labels(resource).inc()
