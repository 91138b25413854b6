"""The package as an operator installs it: a plain (non-editable) pip install into a fresh
virtualenv outside the checkout, set up with django-admin and served by gunicorn from a
directory that holds nothing of the project.

The new virtualenv borrows the dependencies from the project's .venv through a .pth line
(installing Django and friends again would only test pip), so what is on trial is the package
itself: whether it carries its templates, static files and gunicorn defaults.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests

from tests.server_process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_HOST = "scim.example.test"
# As a TLS-terminating proxy would send them: the app then answers as it does in production.
THROUGH_PROXY = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtualenv with the repository pip-installed into it; returns its directory."""
    home = tmp_path_factory.mktemp("installed")
    source = home / "source"
    # The repository's files as a clone would have them (tracked and new, not ignored ones), so
    # nothing built or collected in the checkout can stand in for what the package carries.
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site_packages = subprocess.run(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    # A path line only: the checkout venv's own .pth files (its editable install) are not read.
    Path(site_packages, "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q",
         "--disable-pip-version-check", "--no-deps", source],
        check=True, capture_output=True,
    )
    return venv


@pytest.fixture
def fresh_database() -> str:
    """An empty PostgreSQL database of its own, dropped afterwards; returns its URL."""
    url = urlsplit(os.environ["DATABASE_URL"])
    name = f"install_{os.getpid()}_{time.monotonic_ns()}"
    admin_url = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(url._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def production_env(venv: Path, database_url: str, workdir: Path, **extra: str) -> dict:
    inherited = {
        name: value for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "SCIM_", "DATABASE_", "GUNICORN_", "PYTHON", "VIRTUAL_ENV"))
    }
    return {
        **inherited,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(workdir),
        "XDG_RUNTIME_DIR": str(workdir),
        "DJANGO_SETTINGS_MODULE": "activtrak_scim.settings",
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "0",
        "DJANGO_SECRET_KEY": "install-test-" + "s" * 40,
        "SCIM_KEY_HMAC_SECRET": "install-test-" + "h" * 40,
        "DJANGO_ALLOWED_HOSTS": PUBLIC_HOST,
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        **extra,
    }


def django_admin(venv: Path, env: dict, cwd: Path, *args: str) -> str:
    """django-admin, as `python -m django` (the script comes with Django, borrowed here)."""
    result = subprocess.run(
        [venv / "bin" / "python", "-m", "django", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_sign_in_page_and_css_served(url: str) -> None:
    page = requests.get(url + "/accounts/login/", headers=THROUGH_PROXY, timeout=10)
    assert page.status_code == 200, page.text[:2000]
    stylesheets = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', page.text)
    stylesheets += re.findall(r'<link[^>]+href="([^"]+\.css)"', page.text)
    assert stylesheets, page.text
    for href in set(stylesheets):
        css = requests.get(url + href, headers=THROUGH_PROXY, timeout=10)
        assert css.status_code == 200, href
        assert css.headers["Content-Type"].startswith("text/css"), href
        assert len(css.content) > 100, href


def test_installed_package_serves_the_sign_in_page_and_its_css_from_any_directory(
    installed, fresh_database, tmp_path
):
    env = production_env(installed, fresh_database, tmp_path)
    python = installed / "bin" / "python"
    where = subprocess.run(
        [python, "-c", "import activtrak_scim; print(activtrak_scim.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout
    assert where.startswith(str(installed)), where

    django_admin(installed, env, tmp_path, "migrate", "--noinput", "-v", "0")
    django_admin(installed, env, tmp_path, "collectstatic", "--noinput", "-v", "0")
    key = django_admin(installed, env, tmp_path, "issue_scim_key", "--account", "acme", "--name", "Okta")
    key = key.strip().splitlines()[-1]
    assert key.startswith("atk_scim_")

    port = free_port()
    # Three workers, where gunicorn alone would start one: the packaged defaults apply.
    server = ServerProcess(
        [python, "-m", "gunicorn", "activtrak_scim.wsgi",
         "--config", "python:activtrak_scim.gunicorn_defaults"],
        port=port, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "3"},
        cwd=tmp_path, log_path=tmp_path / "server.log",
    )
    try:
        # /readyz with the host's IP as Host, as a load balancer's probe sends it.
        server.start(probe="/readyz", timeout=90)
        assert_sign_in_page_and_css_served(server.url)
        guide = requests.get(server.url + "/help/okta-setup/", headers=THROUGH_PROXY, timeout=10)
        assert guide.status_code == 200, guide.text[:2000]
        assert 'id="troubleshooting"' in guide.text
        users = requests.get(
            server.url + "/scim/v1/Users",
            headers={**THROUGH_PROXY, "Authorization": f"Bearer {key}"}, timeout=10,
        )
        assert users.status_code == 200, users.text
        server.wait_for_workers(3)
        assert len(server.worker_pids()) == 3
    finally:
        server.stop(timeout=20)


def test_docker_entrypoint_migrates_a_fresh_database_and_serves(installed, fresh_database, tmp_path):
    port = free_port()
    env = production_env(
        installed, fresh_database, tmp_path, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2"
    )
    server = ServerProcess(
        [ROOT / "bin" / "docker-entrypoint"], port=port, env=env, cwd=tmp_path,
        log_path=tmp_path / "server.log",
    )
    try:
        ready = server.start(probe="/readyz", timeout=90)
        assert ready.json() == {"status": "ok", "database": "ok"}
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
        assert_sign_in_page_and_css_served(server.url)
        assert (tmp_path / "static" / "css").is_dir()
    finally:
        server.stop(timeout=20)
    assert server.process.returncode == 0, server.log_tail()
