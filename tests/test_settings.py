"""Settings come from the environment and fail loudly on bad values."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from activtrak_scim import settings as project_settings

ROOT = Path(__file__).resolve().parent.parent


def test_database_url_parses_postgres_and_defaults_to_sqlite():
    parsed = project_settings.database_from_url("postgres://app:p%40ss@db.internal:6432/activtrak")
    assert parsed["ENGINE"] == "activtrak_scim.postgresql"
    assert (parsed["USER"], parsed["PASSWORD"], parsed["HOST"], parsed["PORT"], parsed["NAME"]) == (
        "app", "p@ss", "db.internal", "6432", "activtrak",
    )
    assert project_settings.database_from_url(None)["ENGINE"] == "django.db.backends.sqlite3"
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        project_settings.database_from_url("mysql://x@y/z")
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        project_settings.database_from_url("postgres://x@y:5432/")


def test_postgres_sessions_run_without_jit_unless_the_option_is_emptied(monkeypatch, db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
    monkeypatch.setenv("DATABASE_SESSION_OPTIONS", "")
    assert "options" not in project_settings.database_from_url("postgres://a@b/c")["OPTIONS"]


def test_scim_requests_prepare_repeated_statements_and_pages_do_not(monkeypatch, scim_client, db):
    from django.db import connection

    from directory.models import Account

    for _ in range(6):
        assert scim_client("GET", '/Users?filter=userName eq "nobody@acme.example"').status_code == 200
        list(Account.objects.filter(slug="not-a-scim-request"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("directory_directoryuser" in statement and "$1" in statement for statement in prepared), prepared
    assert not any('WHERE "directory_account"."slug"' in statement for statement in prepared), prepared
    assert connection.connection.prepare_threshold is None
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "false")
    assert "server_side_binding" not in project_settings.database_from_url("postgres://a@b/c")["OPTIONS"]


def test_typed_helpers_reject_bad_values(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        project_settings.env_bool("SOME_FLAG", False)
    monkeypatch.setenv("SOME_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER"):
        project_settings.env_int("SOME_NUMBER", 1)
    with pytest.raises(ImproperlyConfigured, match="SCIM_PUBLIC_BASE_URL"):
        project_settings.public_base_url("api.example.com/scim/v1")
    assert project_settings.public_base_url("https://api.example.com/scim/v1/") == "https://api.example.com/scim/v1"


def run_check(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SCIM_", "DATABASE_URL"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_production_start_needs_a_secret_key():
    result = run_check(DJANGO_DEBUG="false", DATABASE_URL="sqlite:///:memory:")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY is required" in result.stderr


def test_bad_debug_value_stops_start_up_naming_the_variable():
    result = run_check(DJANGO_DEBUG="yes please", DJANGO_SECRET_KEY="x" * 50)
    assert result.returncode != 0 and "DJANGO_DEBUG" in result.stderr


def test_public_base_url_is_what_the_api_reports(scim, settings):
    settings.SCIM_PUBLIC_BASE_URL = "https://api-eu.example.com/scim/v1"
    created = scim.create_user("ann@acme.example").json()
    assert created["meta"]["location"] == f"https://api-eu.example.com/scim/v1/Users/{created['id']}"


PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "x" * 50,
    "SCIM_KEY_HMAC_SECRET": "h" * 50,
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
}


def test_production_start_needs_a_scim_key_secret_of_its_own():
    result = run_check(**{**PRODUCTION, "SCIM_KEY_HMAC_SECRET": ""})
    assert result.returncode != 0 and "SCIM_KEY_HMAC_SECRET is required" in result.stderr


def test_scim_key_secrets_are_read_from_files(tmp_path):
    (tmp_path / "current").write_text("from-a-file\n")
    (tmp_path / "old").write_text("older-one, oldest-one\n")
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; "
         "print(settings.SCIM_KEY_HMAC_SECRET, settings.SCIM_KEY_HMAC_SECRET_FALLBACKS)"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, **PRODUCTION, "SCIM_KEY_HMAC_SECRET": "",
             "SCIM_KEY_HMAC_SECRET_FILE": str(tmp_path / "current"),
             "SCIM_KEY_HMAC_SECRET_FALLBACKS_FILE": str(tmp_path / "old"),
             "DJANGO_SETTINGS_MODULE": "activtrak_scim.settings"},
    )
    assert result.stdout.strip() == "from-a-file ['older-one', 'oldest-one']", result.stderr


def test_an_empty_secret_file_stops_start_up_saying_it_is_empty(tmp_path):
    (tmp_path / "django_secret_key").write_text("\n")
    result = run_check(**{**PRODUCTION, "DJANGO_SECRET_KEY": "",
                          "DJANGO_SECRET_KEY_FILE": str(tmp_path / "django_secret_key")})
    assert result.returncode != 0
    last = result.stderr.splitlines()[-1]
    assert "DJANGO_SECRET_KEY_FILE" in last and "is empty" in last, result.stderr[-500:]


def test_quick_start_secret_files_are_readable_by_their_owner_only(monkeypatch, tmp_path):
    monkeypatch.setattr(project_settings, "BASE_DIR", tmp_path)
    monkeypatch.delenv("SCIM_KEY_HMAC_SECRET", raising=False)
    monkeypatch.delenv("SCIM_KEY_HMAC_SECRET_FILE", raising=False)
    path = tmp_path / ".scim_key_hmac_secret"

    def quick_start_secret() -> str:
        return project_settings.required_secret(
            "SCIM_KEY_HMAC_SECRET", debug=True, quick_start_file=path.name
        )

    umask = os.umask(0o022)  # the usual one, under which a plain write is world-readable
    try:
        made = quick_start_secret()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(made) > 40 and quick_start_secret() == made
        # A file an earlier quick start left world-readable is tightened, its secret kept.
        path.chmod(0o644)
        assert quick_start_secret() == made
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(umask)


def test_production_start_needs_a_database_url():
    result = run_check(**{**PRODUCTION, "DATABASE_URL": ""})
    assert result.returncode != 0 and "DATABASE_URL is required" in result.stderr


def test_production_start_refuses_empty_allowed_hosts():
    result = run_check(**{**PRODUCTION, "DJANGO_ALLOWED_HOSTS": ""})
    assert result.returncode != 0 and "DJANGO_ALLOWED_HOSTS is required" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SCIM_MAX_RESULTS", "lots"),
        ("SCIM_MAX_BODY_BYTES", "10"),
        ("SCIM_MAX_GROUP_BODY_BYTES", "16MB"),
        ("SCIM_PATCH_RESPONSE_MAX_MEMBERS", "-1"),
        ("SCIM_KEY_USAGE_WRITE_INTERVAL", "1m"),
        ("SCIM_RATE_LIMIT_WINDOW_SECONDS", "0"),
        ("SIGN_IN_FAILURE_LIMIT", "0"),
        ("SIGN_IN_LOCKOUT_SECONDS", "15 minutes"),
        ("LOG_LEVEL", "LOUD"),
        ("DATABASE_URL", "mysql://app@db/activtrak"),
        ("DATABASE_CONN_MAX_AGE", "forever"),
        ("DATABASE_CONNECT_TIMEOUT", "5s"),
        ("DATABASE_PREPARED_STATEMENTS", "maybe"),
        ("DJANGO_HSTS_SECONDS", "a year"),
        ("DJANGO_SECURE_COOKIES", "sometimes"),
        ("SCIM_PUBLIC_BASE_URL", "api.example.com"),
        ("SCIM_KEY_HMAC_SECRET_FILE", "/nonexistent/secret"),
    ],
)
def test_bad_values_stop_start_up_naming_the_variable(name, value):
    # A PostgreSQL URL, so that its settings are read too; `check` does not connect.
    result = run_check(**{**PRODUCTION, "DATABASE_URL": "postgres://app@127.0.0.1:9/activtrak", name: value})
    assert result.returncode != 0
    assert name.removesuffix("_FILE") in result.stderr.splitlines()[-1], result.stderr[-500:]


@pytest.mark.parametrize(
    ("name", "value"),
    [("GUNICORN_WORKERS", "many"), ("GUNICORN_TIMEOUT", "0"), ("GUNICORN_MAX_REQUESTS", "1e4")],
)
def test_bad_gunicorn_values_stop_start_up_naming_the_variable(name, value):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config",
         "--config", "python:activtrak_scim.gunicorn_defaults", "activtrak_scim.wsgi"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, **PRODUCTION, name: value},
    )
    assert result.returncode != 0
    assert name in result.stderr, result.stderr[-500:]


def test_database_url_query_parameters_reach_the_connection(db):
    from tests.reliability.harness import database_url

    url = database_url() + "?sslmode=disable&connect_timeout=7&application_name=activtrak-probe"
    result = subprocess.run(
        [sys.executable, "-c",
         "import django; django.setup()\n"
         "from django.db import connection\n"
         "connection.ensure_connection()\n"
         "params = connection.connection.info.get_parameters()\n"
         "cursor = connection.cursor(); cursor.execute('SHOW application_name')\n"
         "print(params.get('sslmode'), params.get('connect_timeout'), cursor.fetchone()[0])"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "activtrak_scim.settings"},
    )
    assert result.stdout.split() == ["disable", "7", "activtrak-probe"], result.stderr[-1000:]


def test_every_variable_the_code_reads_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    sources = [ROOT / "activtrak_scim" / "settings.py", ROOT / "activtrak_scim" / "gunicorn_defaults.py",
               ROOT / "bin" / "docker-entrypoint"]
    read = set()
    for source in sources:
        text = source.read_text()
        read |= set(re.findall(r'(?:env_\w+|required_secret|os\.environ\.get)\(\s*"([A-Z][A-Z0-9_]+)"', text))
        read |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+):-", text))
    assert len(read) > 30
    missing = sorted(name for name in read if f"`{name}" not in readme)
    assert not missing, missing


def test_a_bad_log_level_stops_gunicorn_naming_the_variable(tmp_path):
    from tests.reliability.harness import Gunicorn

    server = Gunicorn(workers=1, log_path=tmp_path / "gunicorn.log", env={"LOG_LEVEL": "verbose"})
    with pytest.raises(RuntimeError, match="exited: "):
        server.start()
    output = (tmp_path / "gunicorn.log").read_text()
    assert "LOG_LEVEL='verbose'" in output and "WARNING" in output, output[-1000:]
