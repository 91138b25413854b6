"""gunicorn settings for production; every value can be overridden with GUNICORN_* variables."""

from __future__ import annotations

import multiprocessing
import os

from activtrak_scim.observability.gunicorn_hooks import (  # noqa: F401 - gunicorn reads these
    child_exit,
    logconfig_dict,
    on_exit,
    on_starting,
)

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
# Okta closes the socket after 60 s; a request should never get near that. It also bounds a
# stalled client: a sync worker it holds is killed and replaced after this many seconds. A
# client trickling bytes can still hold one longer, so production sits behind a proxy that
# buffers whole requests (an ALB, or nginx; see docs/reliability.md).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
# Requests with enormous headers or request lines are refused before Django sees them.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 5000))
max_requests_jitter = 500
# Access lines are JSON, without query strings (filters carry user names): logconfig_dict.
accesslog = "-"
errorlog = "-"
