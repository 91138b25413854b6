"""gunicorn settings for production; every value can be overridden with GUNICORN_* variables.

Shipped in the package, so from any directory:
    gunicorn activtrak_scim.wsgi --config python:activtrak_scim.gunicorn_defaults
The checkout's gunicorn.conf.py imports this module.
"""

from __future__ import annotations

import multiprocessing
import os

from activtrak_scim.observability.gunicorn_hooks import (  # noqa: F401 - gunicorn reads these
    child_exit,
    logconfig_dict,
    on_exit,
    on_starting,
    post_worker_init,
)


def env_int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise SystemExit(f"{name}={value} must be at least {minimum}.")
    return value


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = env_int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
threads = env_int("GUNICORN_THREADS", 1)
# Okta closes the socket after 60 s; a request should never get near that. It also bounds a
# stalled client: a sync worker it holds is killed and replaced after this many seconds. A
# client trickling bytes can still hold one longer, so production sits behind a proxy that
# buffers whole requests (an ALB, or nginx; see docs/reliability.md).
timeout = env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 20)
keepalive = env_int("GUNICORN_KEEPALIVE", 5, minimum=0)
# Requests with enormous headers or request lines are refused before Django sees them.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
max_requests = env_int("GUNICORN_MAX_REQUESTS", 5000, minimum=0)
max_requests_jitter = 500
# Access lines are JSON, without query strings (filters carry user names): logconfig_dict.
accesslog = "-"
logger_class = "activtrak_scim.observability.logs.AccessLogger"
errorlog = "-"
