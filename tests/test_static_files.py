"""gunicorn alone serves the pages' static files once collectstatic has run."""

from __future__ import annotations

from django.core.management import call_command
from django.test import Client


def test_collected_static_files_are_served_without_debug(settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)

    response = Client().get("/static/css/app.css")

    assert response.status_code == 200
    assert b"--color-primary" in b"".join(response.streaming_content)
