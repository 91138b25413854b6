"""Fixtures for tests against a live multi-worker gunicorn on the test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.harness import Gunicorn
from tests.scim_client import ScimClient


@pytest.fixture(scope="module")
def gunicorn_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Gunicorn]:
    """Four gunicorn workers on the test database, shared by a module's tests (each of which
    uses ``transactional_db`` so the workers see its rows)."""
    server = Gunicorn(workers=4, log_path=tmp_path_factory.mktemp("gunicorn") / "gunicorn.log")
    with django_db_blocker.unblock():
        server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def okta(gunicorn_server, transactional_db, acme_key) -> ScimClient:
    return ScimClient(f"{gunicorn_server.url}/scim/v1", acme_key)


def new_client(server: Gunicorn, key: str) -> ScimClient:
    return ScimClient(f"{server.url}/scim/v1", key)
