"""One JSON object per line for every log line: the app's, gunicorn's own and gunicorn's access
log. Each line has a timestamp; lines written during a request have its request id, and SCIM
lines the account and integration instance of the key. Keys and bodies are never logged:
anything shaped like a key is masked, and access lines leave out query strings (filters carry
user names) and headers."""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Mapping
from datetime import UTC, datetime

from gunicorn.glogging import Logger as GunicornLogger

from activtrak_scim.observability.request_id import (
    ENVIRON_ACCOUNT,
    ENVIRON_INSTANCE,
    ENVIRON_REQUEST_ID,
    current_request,
    scim_owner,
)
from integrations.keys import redact_keys

ACCESS_LOGGER = "gunicorn.access"
# LOG_LEVEL, read by settings and by the gunicorn master (gunicorn_hooks).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def request_fields(record: logging.LogRecord) -> dict:
    # django.request logs a refused request after the middleware has returned, with the
    # request attached to the record.
    request = current_request.get() or getattr(record, "request", None)
    if request is None or not hasattr(request, "request_id"):
        return {}
    fields = {"request_id": request.request_id}
    owner = scim_owner(request)
    if owner is not None:
        fields["account"], fields["instance"] = owner
    return fields


class AccessLogger(GunicornLogger):
    """gunicorn's logger, with access atoms for the fields :func:`access_fields` reads only.

    gunicorn's own builds one atom per request header, response header and WSGI environ entry
    for every request, a twentieth of a SCIM request's time, for a line that uses eight.
    """

    def atoms(self, resp, req, environ, request_time) -> dict:
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        atoms = {
            "h": environ.get("REMOTE_ADDR", "-"),
            "s": status,
            "m": environ.get("REQUEST_METHOD"),
            "U": environ.get("PATH_INFO"),
            "B": getattr(resp, "sent", None),
            "a": environ.get("HTTP_USER_AGENT", "-"),
            "D": request_time.seconds * 1_000_000 + request_time.microseconds,
        }
        for key in (ENVIRON_REQUEST_ID, ENVIRON_ACCOUNT, ENVIRON_INSTANCE):
            if key in environ:
                atoms[f"{{{key}}}e"] = environ[key]
        return atoms


def access_fields(atoms: Mapping) -> dict:
    """The fields of one gunicorn access line, from its atoms (gunicorn.glogging.Logger.atoms).

    Picked one by one: the atoms also hold every request header, Authorization included."""
    status = atoms.get("s")
    fields = {
        "message": f"{atoms.get('m')} {atoms.get('U')} {status}",
        "method": atoms.get("m"),
        "path": atoms.get("U"),
        "status": int(status) if str(status).isdigit() else status,
        "bytes": atoms.get("B"),
        "duration_ms": round(atoms.get("D", 0) / 1000, 3),
        "remote_addr": atoms.get("h"),
        "user_agent": atoms.get("a"),
        "request_id": atoms.get(f"{{{ENVIRON_REQUEST_ID}}}e"),
    }
    account = atoms.get(f"{{{ENVIRON_ACCOUNT}}}e")
    if account is not None:
        fields["account"] = account
        fields["instance"] = atoms.get(f"{{{ENVIRON_INSTANCE}}}e")
    return fields


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
        }
        if record.name == ACCESS_LOGGER and isinstance(record.args, Mapping):
            line.update(access_fields(record.args))
        else:
            line["message"] = record.getMessage()
            line.update(request_fields(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        for field in ("message", "exception", "stack", "user_agent", "path"):
            if isinstance(line.get(field), str):
                line[field] = redact_keys(line[field])
        return json.dumps(line, ensure_ascii=False, default=str)


class AsWarningWithoutTraceback(logging.Filter):
    """Log a record at WARNING with no traceback. For Django's DisallowedHost, which it logs at
    ERROR with a traceback for every request naming a host not in DJANGO_ALLOWED_HOSTS: scanners
    send those all day, and each would be an error event in Sentry. The 400 is answered as
    before."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True


def configure(config: dict) -> None:
    """settings.LOGGING_CONFIG: the dictConfig, and Python's warnings as JSON lines too."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def logging_config(level: str, *, gunicorn: bool = False) -> dict:
    """A dictConfig for the app (settings.LOGGING) or for gunicorn (logconfig_dict)."""
    handlers = {"console": {"class": "logging.StreamHandler", "formatter": "json"}}
    loggers: dict = {
        # The library logs whole request bodies at DEBUG; never let that through.
        "django_scim": {"level": "WARNING"},
        # Django's own handlers (plain text, debug only) give way to the root's JSON one.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.security.DisallowedHost": {"filters": ["as_warning_without_traceback"]},
    }
    if gunicorn:
        handlers["access"] = {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        }
        loggers["gunicorn.error"] = {"handlers": ["console"], "level": level, "propagate": False}
        loggers[ACCESS_LOGGER] = {"handlers": ["access"], "level": "INFO", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "activtrak_scim.observability.logs.JsonFormatter"}},
        "filters": {
            "as_warning_without_traceback": {
                "()": "activtrak_scim.observability.logs.AsWarningWithoutTraceback"
            }
        },
        "handlers": handlers,
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers,
    }
