"""Fixtures: two customer accounts (acme and globex) with keys, and SCIM clients for each.

acme is alice's company (bob is her teammate); globex is charlie's, who must never see anything
of acme's. All three are account admins who sign in with ADMIN_PASSWORD.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from directory.account_services import account_admin_create
from directory.models import Account, AccountMember
from integrations.services import instance_create
from tests.scim_client import ScimClient


@pytest.fixture
def account_factory(db) -> Callable[..., Account]:
    def make(slug: str) -> Account:
        return Account.objects.create(slug=slug, name=slug.title())

    return make


@pytest.fixture
def acme(account_factory) -> Account:
    return account_factory("acme")


@pytest.fixture
def globex(account_factory) -> Account:
    return account_factory("globex")


ADMIN_PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # PBKDF2's deliberate slowness buys nothing in tests and costs ~0.3 s per sign-in.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def account_admin_factory(db) -> Callable[..., AccountMember]:
    def make(account: Account, email: str) -> AccountMember:
        member, _ = account_admin_create(
            account_slug=account.slug, email=email, password=ADMIN_PASSWORD
        )
        return member

    return make


@pytest.fixture
def alice(acme, account_admin_factory):
    return account_admin_factory(acme, "alice@acme.example").user


@pytest.fixture
def bob(acme, account_admin_factory):
    return account_admin_factory(acme, "bob@acme.example").user


@pytest.fixture
def charlie(globex, account_admin_factory):
    return account_admin_factory(globex, "charlie@globex.example").user


@pytest.fixture
def key_factory(db) -> Callable[..., str]:
    counter = iter(range(1, 1000))

    def make(account: Account, name: str | None = None) -> str:
        _, key = instance_create(account=account, name=name or f"Okta {next(counter)}")
        return key

    return make


@pytest.fixture
def acme_key(acme, key_factory) -> str:
    return key_factory(acme, "Okta production")


@pytest.fixture
def globex_key(globex, key_factory) -> str:
    return key_factory(globex, "Okta production")


@pytest.fixture
def scim(live_server, acme_key) -> ScimClient:
    """acme's Okta, talking to a live server over HTTP."""
    return ScimClient(f"{live_server.url}/scim/v1", acme_key)


@pytest.fixture
def scim_globex(live_server, globex_key) -> ScimClient:
    return ScimClient(f"{live_server.url}/scim/v1", globex_key)


@pytest.fixture
def scim_client(client, acme_key):
    """acme's key on Django's test client, for counting queries in-process."""

    def request(method: str, path: str, body: str | None = None, **extra):
        return getattr(client, method.lower())(
            "/scim/v1" + path,
            data=body,
            content_type="application/scim+json",
            HTTP_AUTHORIZATION=f"Bearer {acme_key}",
            **extra,
        )

    return request
