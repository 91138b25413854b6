"""API keys: format, storage as a digest, the issue_scim_key command."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from directory.models import Account
from integrations import keys
from integrations.models import ApiKey, IntegrationInstance
from integrations.services import api_key_authenticate, instance_create


def test_generated_keys_are_prefixed_checksummed_and_unique():
    generated = {keys.generate_key() for _ in range(200)}
    assert len(generated) == 200
    for key in generated:
        assert key.startswith("atk_scim_") and key.isascii() and "-" not in key
        assert keys.parse_key(key) is not None
    key = next(iter(generated))
    typo = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert keys.parse_key(typo) is None
    assert keys.parse_key(key + "x") is None


def test_keys_are_stored_only_as_lookup_and_digest(acme):
    instance, key = instance_create(account=acme, name="Okta")
    stored = ApiKey.objects.get(instance=instance)

    assert key not in {stored.lookup, stored.digest}
    assert stored.lookup == key[len("atk_scim_") :][:8] and len(stored.digest) == 64
    assert stored.masked == f"atk_scim_{stored.lookup}…"
    assert api_key_authenticate(key).api_key == stored
    assert api_key_authenticate(keys.generate_key()).failure == "unknown"


def test_instance_names_are_trimmed_required_and_unique_per_account(acme, globex):
    from directory.errors import DirectoryError

    instance, _ = instance_create(account=acme, name="  Okta   production ")
    assert instance.name == "Okta production"
    with pytest.raises(DirectoryError, match="already exists"):
        instance_create(account=acme, name="OKTA PRODUCTION")
    with pytest.raises(DirectoryError, match="name"):
        instance_create(account=acme, name="   ")
    with pytest.raises(DirectoryError, match="100"):
        instance_create(account=acme, name="x" * 101)
    assert instance_create(account=globex, name="Okta production")[0].account == globex


def test_issue_scim_key_creates_the_account_and_prints_the_key_alone_last(db):
    out = io.StringIO()
    call_command("issue_scim_key", "--account", "initech", "--name", "Okta prod", stdout=out)

    last_line = out.getvalue().strip().splitlines()[-1]
    assert keys.parse_key(last_line) is not None
    account = Account.objects.get(slug="initech")
    instance = IntegrationInstance.objects.get(account=account)
    assert instance.name == "Okta prod" and instance.kind == "okta_scim"
    assert api_key_authenticate(last_line).api_key.instance == instance

    second = io.StringIO()
    call_command("issue_scim_key", "--account", "initech", "--name", "Okta staging", stdout=second)
    assert Account.objects.filter(slug="initech").count() == 1
    with pytest.raises(CommandError, match="already exists"):
        call_command("issue_scim_key", "--account", "initech", "--name", "okta prod", stdout=io.StringIO())
    with pytest.raises(CommandError, match="slug"):
        call_command("issue_scim_key", "--account", "Not A Slug", "--name", "x", stdout=io.StringIO())
