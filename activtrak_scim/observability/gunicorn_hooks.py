"""What gunicorn.conf.py takes from here: JSON logging for gunicorn's own and access lines, the
shared directory in which every worker keeps its Prometheus samples, and a database check at
start."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from activtrak_scim.observability.logs import LOG_LEVELS, logging_config

# Nothing here may import prometheus_client at module level (worker_samples does): it chooses
# between in-process and multiprocess samples once, when first imported, by whether
# PROMETHEUS_MULTIPROC_DIR is set. Imported in the master before the variable is set below,
# the workers inherit the in-process choice and /metrics adds up empty files.

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

_log_level = (os.environ.get("LOG_LEVEL") or "INFO").strip().upper()
if _log_level not in LOG_LEVELS:
    # gunicorn sets up its logging before it loads the app (whose settings check the same), and
    # would only say "Unable to configure logger". Raised while gunicorn reads its settings,
    # this message is printed and gunicorn exits.
    raise SystemExit(
        f"LOG_LEVEL={os.environ['LOG_LEVEL']!r} is not one of {', '.join(LOG_LEVELS)}."
    )
logconfig_dict = logging_config(_log_level, gunicorn=True)

# Set before any worker is forked and before anything imports prometheus_client. Unset: a
# private temporary directory, removed when gunicorn exits.
_made_directory = MULTIPROCESS_DIR not in os.environ
if _made_directory:
    os.environ[MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="activtrak-metrics-")


def on_starting(server) -> None:
    """Start counting from zero: samples left by an earlier run of the master would be added in."""
    directory = Path(os.environ[MULTIPROCESS_DIR])
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in directory.glob("*.db"):
        leftover.unlink()


def post_worker_init(worker) -> None:
    """In the first worker only, once the app is loaded: check the database (one line at ERROR
    if it cannot be reached), so a wrong DATABASE_URL is named at start, not once per worker."""
    if worker.age == 1:
        from activtrak_scim.health import database_check_at_start

        database_check_at_start()


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    from activtrak_scim.observability.worker_samples import worker_samples_fold

    multiprocess.mark_process_dead(worker.pid)  # its live gauges, should any be added
    worker_samples_fold(os.environ[MULTIPROCESS_DIR], worker.pid)


def on_exit(server) -> None:
    if _made_directory:
        shutil.rmtree(os.environ[MULTIPROCESS_DIR], ignore_errors=True)
