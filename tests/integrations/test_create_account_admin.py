"""create_account_admin makes an account admin non-interactively; the quick start uses it."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from directory.models import Account, AccountMember


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("create_account_admin", *args, stdout=out)
    return out.getvalue()


def test_it_creates_the_account_and_an_admin_who_can_sign_in(db):
    output = run("--account", "initech", "--email", "Peter@Initech.example", "--password", "tps reports 4ever")

    assert "Created admin peter@initech.example for account 'initech'" in output
    member = AccountMember.objects.select_related("account", "user").get()
    assert member.account.slug == "initech" and member.account.name == "Initech"
    assert member.user.username == "peter@initech.example" and not member.user.is_staff
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "peter@initech.example", "password": "tps reports 4ever"}
    )
    assert response.status_code == 302


def test_running_it_again_resets_the_password(db):
    run("--account", "initech", "--email", "peter@initech.example", "--password", "tps reports 4ever")
    output = run("--account", "initech", "--email", "peter@initech.example", "--password", "new secret 2day")

    assert output.startswith("Updated admin")
    assert AccountMember.objects.count() == 1
    assert AccountMember.objects.get().user.check_password("new secret 2day")


def test_it_uses_an_existing_account(acme):
    run("--account", "acme", "--email", "dana@acme.example", "--password", "tps reports 4ever")

    assert Account.objects.count() == 1
    assert AccountMember.objects.get().account == acme


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--account", "Not A Slug", "--email", "a@b.example", "--password", "tps reports 4ever"], "slug"),
        (["--account", "initech", "--email", "not-an-email", "--password", "tps reports 4ever"], "email"),
        (["--account", "initech", "--email", "a@b.example", "--password", "short"], "too short"),
        (["--account", "initech", "--email", "a@b.example", "--password", "password"], "too common"),
    ],
)
def test_it_refuses_bad_input_and_creates_nothing(db, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not AccountMember.objects.exists()


def test_a_login_administers_only_one_account(db):
    run("--account", "initech", "--email", "peter@initech.example", "--password", "tps reports 4ever")

    with pytest.raises(CommandError, match="already administers the account 'initech'"):
        run("--account", "globex", "--email", "peter@initech.example", "--password", "tps reports 4ever")
    assert not Account.objects.filter(slug="globex").exists()


def test_the_quick_start_prints_a_login_that_works(db):
    out = io.StringIO()
    call_command("quickstart_demo", "--base-url", "http://127.0.0.1:8000/scim/v1", stdout=out)

    text = out.getvalue()
    email = re.search(r"Admin login:\s+(\S+)", text).group(1)
    password = re.search(r"Admin password:\s+(\S+)", text).group(1)
    assert "http://127.0.0.1:8000/accounts/login/" in text
    response = Client().post("/accounts/login/", {"username": email, "password": password})
    assert response.status_code == 302
