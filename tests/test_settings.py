"""Settings come from the environment and fail loudly on bad values."""

from __future__ import annotations

import os
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
