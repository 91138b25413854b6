"""Settings for activtrak-scim, read from the environment.

Every value that differs between a laptop and production comes from an environment variable
read through a typed helper that fails loudly on a bad value. With no DATABASE_URL the app runs
on a SQLite file in the project folder (the quick start); tests and production use PostgreSQL.
Every variable read here is in the README's configuration table.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from activtrak_scim.observability.error_tracking import error_tracking_start
from activtrak_scim.observability.logs import LOG_LEVELS, logging_config

PACKAGE_DIR = Path(__file__).resolve().parent
# In a checkout, templates/ and static/ sit at the top level; an installed package carries them
# inside itself (setup.py), and keeps the quick start's files and collected static files there.
BASE_DIR = PACKAGE_DIR if (PACKAGE_DIR / "templates").is_dir() else PACKAGE_DIR.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 'true' or 'false'.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def env_secret(name: str, *, allow_empty_file: bool = False) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE (container secrets).

    A named file that is empty is refused (unless ``allow_empty_file``): a secret mounted
    before it was written would otherwise read as no secret at all."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            value = Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from None
        if not value and not allow_empty_file:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} is empty; put the secret in it.")
        return value or None
    return os.environ.get(name) or None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")


# SQLite (the quick start) with several writers at once: WAL lets readers run beside the one
# writer, IMMEDIATE takes the write lock when a transaction starts (a deferred one that reads
# first cannot upgrade and fails at once), and the timeout makes a writer wait its turn.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


def database_from_url(url: str | None) -> dict:
    """postgres://user:password@host:port/name?sslmode=... -> Django settings; None -> the SQLite
    file. dj-database-url reads the URL, so every query parameter reaches the connection (libpq
    options such as sslmode, sslrootcert, connect_timeout, target_session_attrs)."""
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
            "OPTIONS": {**SQLITE_OPTIONS},
        }
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        config = dj_database_url.parse(url)
        config["OPTIONS"] = {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}
        return config
    if scheme not in POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {scheme!r} is not supported; use postgres:// or sqlite://."
        )
    try:
        config = dj_database_url.parse(
            url,
            engine="activtrak_scim.postgresql",
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    except ValueError as exc:
        # The message names the part that is wrong; the URL itself may carry a password.
        raise ImproperlyConfigured(f"DATABASE_URL cannot be read: {exc}") from None
    if not config["NAME"]:
        raise ImproperlyConfigured("DATABASE_URL names no database.")
    config["PORT"] = str(config["PORT"] or "")
    options = config.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1))
    # PostgreSQL's JIT compiles any query the planner prices high; for these short queries
    # compiling took 0.2 s of a 0.24 s admin page. Empty turns the option off (for a pooler
    # that refuses startup options: set jit = off on the database instead).
    session_options = os.environ.get("DATABASE_SESSION_OPTIONS", "-c jit=off").strip()
    if session_options:
        options.setdefault("options", session_options)
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        # Parameters bound by the server, so that SCIM requests can have their statements
        # prepared there (directory/scim/http.py). Off behind a pooler in transaction mode
        # that cannot keep prepared statements (docs/deploy.md).
        options["server_side_binding"] = True
    return config


def public_base_url(raw: str | None) -> str | None:
    if not raw:
        return None
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            f"SCIM_PUBLIC_BASE_URL={raw!r} must be an absolute http(s) URL such as "
            "https://api.example.com/scim/v1"
        )
    return raw.strip().rstrip("/")


def required_secret(name: str, *, debug: bool, quick_start_file: str) -> str:
    """NAME (or NAME_FILE), required in production. In debug the quick start keeps one generated
    value in a file, so every process of the dev server agrees and keys survive restarts."""
    value = env_secret(name)
    if value:
        return value
    if not debug:
        raise ImproperlyConfigured(f"{name} is required when DJANGO_DEBUG is false.")
    return quick_start_secret(BASE_DIR / quick_start_file)


def quick_start_secret(path: Path) -> str:
    """The generated secret kept in ``path``, made on first use. Readable by its owner only
    (0600): whoever reads it can sign sessions or check guessed keys offline."""
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            try:
                path.chmod(0o600)  # written world-readable by an earlier version
            except OSError:
                pass
    else:
        with os.fdopen(handle, "w") as file:
            file.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def env_secret_list(name: str) -> list[str]:
    # An empty list is a real state (no fallbacks left after a rotation), file or not.
    raw = env_secret(name, allow_empty_file=True) or ""
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name) or default
    value = raw.strip().upper()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={raw!r} is not one of {', '.join(choices)}.")
    return value


DEBUG = env_bool("DJANGO_DEBUG", False)
# The one-command quick start on one machine: generated secret files, SQLite, localhost, plain
# HTTP, static files from the source folders, but no debug pages for visitors.
QUICK_START = env_bool("DJANGO_QUICK_START", False)
LOCAL = DEBUG or QUICK_START
# Production runs behind one TLS-terminating proxy or load balancer (docs/deploy.md).
BEHIND_TLS_PROXY = not LOCAL and env_bool("DJANGO_BEHIND_TLS_PROXY", True)
# Proxies in front of the app that append to X-Forwarded-For; the client address is the entry
# this far from the right (integrations/client_address.py). 0: the connection's own address.
TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 1 if BEHIND_TLS_PROXY else 0)
SECRET_KEY = required_secret("DJANGO_SECRET_KEY", debug=LOCAL, quick_start_file=".secret_key")
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if LOCAL else []
)
if not LOCAL and not ALLOWED_HOSTS:
    # Django would answer every request 400; say why at start-up instead.
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS is required when DJANGO_DEBUG is false: the host names clients "
        "use, comma-separated, e.g. api.example.com. Health probes need no entry."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "directory",
    "integrations",
]

MIDDLEWARE = [
    # Outermost: every response, even a refused one, has an id, is counted and timed.
    "activtrak_scim.observability.request_id.RequestIdMiddleware",
    "activtrak_scim.observability.metrics.MetricsMiddleware",
    # Answers /healthz and /readyz before host validation: probes send the host's IP as Host.
    "activtrak_scim.health.HealthCheckMiddleware",
    # Before anything asks for the host: a SCIM request for a host not served gets a SCIM error.
    "directory.scim.http.ScimHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves collectstatic's STATIC_ROOT from the app itself, so gunicorn alone serves the pages.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "integrations.sign_in.SignInThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "integrations.middleware.ContentSecurityPolicyMiddleware",
    # Innermost, so its process_exception runs first: a page or admin view that lost the
    # database gets the 503 page with Retry-After (SCIM and the agent API answer their own).
    "activtrak_scim.unavailable.DatabaseUnavailableMiddleware",
]

# What the SCIM API and the agent check-in skip (activtrak_scim/wsgi.py): they are called by
# machines with bearer keys, never by a browser. The Content-Security-Policy stays: the agent
# API's framework can still answer in HTML.
PAGE_ONLY_MIDDLEWARE = {
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "integrations.sign_in.SignInThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "activtrak_scim.unavailable.DatabaseUnavailableMiddleware",
}

ROOT_URLCONF = "activtrak_scim.urls"
WSGI_APPLICATION = "activtrak_scim.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if not LOCAL and not os.environ.get("DATABASE_URL"):
    # Production on the quick start's SQLite file would lose its data with the container.
    raise ImproperlyConfigured("DATABASE_URL is required when DJANGO_DEBUG is false.")
DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The covering index of users' agent counts has INCLUDE columns, which SQLite (the quick start)
# leaves out: the index still works there, so the quick start need not warn about it.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
# The quick start serves static files straight from static/, without collectstatic.
WHITENOISE_USE_FINDERS = LOCAL
# The customer setup guides the product serves at /help/<guide>/.
GUIDES_DIR = BASE_DIR / "docs"

# Every password check goes through the sign-in throttle (integrations/sign_in.py).
AUTHENTICATION_BACKENDS = ["integrations.sign_in.ThrottledModelBackend"]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/integrations/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
# Failed sign-ins (product and Django admin) allowed per window: for one username from one
# address, for one username from anywhere, and from one address for any username; a browser with
# a device cookie from an earlier sign-in has its own count of SIGN_IN_FAILURE_LIMIT instead.
# Counted in the database (integrations/ratelimit.py, shared by all workers and hosts).
SIGN_IN_FAILURE_LIMIT = env_int("SIGN_IN_FAILURE_LIMIT", 5, minimum=1)
SIGN_IN_FAILURE_LIMIT_PER_EMAIL = env_int("SIGN_IN_FAILURE_LIMIT_PER_EMAIL", 20, minimum=1)
SIGN_IN_FAILURE_LIMIT_PER_ADDRESS = env_int("SIGN_IN_FAILURE_LIMIT_PER_ADDRESS", 100, minimum=1)
SIGN_IN_LOCKOUT_SECONDS = env_int("SIGN_IN_LOCKOUT_SECONDS", 15 * 60, minimum=1)
# How long a device cookie, issued on each successful sign-in, vouches for its browser.
SIGN_IN_DEVICE_COOKIE_DAYS = env_int("SIGN_IN_DEVICE_COOKIE_DAYS", 180, minimum=1)

# A SCIM body larger than this is refused with 413 before it is read.
SCIM_MAX_BODY_BYTES = env_int("SCIM_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
# Okta PUTs a group with its full member list, about 100 bytes per member (README): 16 MiB
# holds a group of 100,000 members with room for longer display names.
SCIM_MAX_GROUP_BODY_BYTES = env_int("SCIM_MAX_GROUP_BODY_BYTES", 16 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(SCIM_MAX_BODY_BYTES, SCIM_MAX_GROUP_BODY_BYTES)

# The base URL admins paste into Okta. Unset: derived from the host of each request.
SCIM_PUBLIC_BASE_URL = public_base_url(os.environ.get("SCIM_PUBLIC_BASE_URL"))
SCIM_MAX_RESULTS = env_int("SCIM_MAX_RESULTS", 200, minimum=1)
# A group PATCH answers 200 with the group, or 204 No Content when it has more members than this.
SCIM_PATCH_RESPONSE_MAX_MEMBERS = env_int("SCIM_PATCH_RESPONSE_MAX_MEMBERS", 1000, minimum=0)
# Operations one PATCH may hold (400 above). Okta sends at most 1,000 member changes per PATCH,
# with one remove operation per member; each operation costs microseconds, never a query.
SCIM_PATCH_MAX_OPERATIONS = env_int("SCIM_PATCH_MAX_OPERATIONS", 2000, minimum=1)
# Keys are stored as HMAC digests under this secret, kept apart from DJANGO_SECRET_KEY so that
# rotating either one alone breaks nothing. To rotate it, move the old value to the fallbacks:
# new keys are digested with the current secret, and presented keys are checked against all.
SCIM_KEY_HMAC_SECRET = required_secret(
    "SCIM_KEY_HMAC_SECRET", debug=LOCAL, quick_start_file=".scim_key_hmac_secret"
)
SCIM_KEY_HMAC_SECRET_FALLBACKS = env_secret_list("SCIM_KEY_HMAC_SECRET_FALLBACKS")
# last_used_at is written at most once per this many seconds per key.
SCIM_KEY_USAGE_WRITE_INTERVAL = env_int("SCIM_KEY_USAGE_WRITE_INTERVAL", 60)
# Requests allowed per API key per window, counted in the database (shared by every worker and
# host); over it, 429 with Retry-After. 0 turns the limit off.
SCIM_RATE_LIMIT_REQUESTS = env_int("SCIM_RATE_LIMIT_REQUESTS", 6000)
SCIM_RATE_LIMIT_WINDOW_SECONDS = env_int("SCIM_RATE_LIMIT_WINDOW_SECONDS", 60, minimum=1)
# Failed SCIM authentications allowed per client address per window before answering 429.
SCIM_AUTH_FAILURE_LIMIT = env_int("SCIM_AUTH_FAILURE_LIMIT", 100)
SCIM_AUTH_FAILURE_WINDOW_SECONDS = env_int("SCIM_AUTH_FAILURE_WINDOW_SECONDS", 600, minimum=1)

# django-scim2 reads this dict for its adapters and exceptions; our views own the URLs.
SCIM_SERVICE_PROVIDER = {
    "NETLOC": "localhost",
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "Bearer API key",
            "description": "Authorization: Bearer <API key> with a key from the Integrations page.",
            "primary": True,
        }
    ],
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="scim"',
    "BASE_LOCATION_GETTER": "directory.scim.schema.base_location",
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "EXCEPTION_HANDLER": "directory.apis.exception_handler",
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not LOCAL:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading commits the whole domain to HTTPS in browsers for good: an operator's
        # choice (DJANGO_HSTS_PRELOAD), not a default, so `check --deploy` need not nag.
        SILENCED_SYSTEM_CHECKS += ["security.W021"]
    if BEHIND_TLS_PROXY:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Provisioning events older than this are deleted by `manage.py prune_events` (run it daily).
PROVISIONING_EVENT_RETENTION_DAYS = env_int("PROVISIONING_EVENT_RETENTION_DAYS", 180, minimum=1)

# /metrics answers only a caller presenting this as a bearer token, and is absent when unset.
METRICS_TOKEN = env_secret("METRICS_TOKEN")

# Every line is one JSON object with a timestamp, and the request id during a request
# (activtrak_scim/observability/logs.py); gunicorn's lines use the same format.
LOGGING_CONFIG = "activtrak_scim.observability.logs.configure"
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", LOG_LEVELS)
LOGGING = logging_config(LOG_LEVEL)

# Optional error tracking, scrubbed of keys, Authorization headers, cookies and bodies.
SENTRY_DSN = env_secret("SENTRY_DSN")
if SENTRY_DSN:
    error_tracking_start(SENTRY_DSN)
