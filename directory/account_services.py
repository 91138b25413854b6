"""Writes for account admins: the product logins that administer one account."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.text import slugify

from directory.errors import DirectoryError
from directory.models import Account, AccountMember


@transaction.atomic
def account_admin_create(
    *, account_slug: str, email: str, password: str, account_name: str = ""
) -> tuple[AccountMember, bool]:
    """Make ``email`` an admin of the account ``account_slug`` (created if missing).

    The email is the username (lowercased, so sign-in ignores case). Running it again for the
    same email and account resets the password, which keeps the quick start repeatable; an
    email that administers another account is refused. Returns the membership and whether the
    login is new.
    """
    if not account_slug or slugify(account_slug) != account_slug:
        raise DirectoryError(
            f"The account must be a slug (lowercase letters, digits, '-'): {account_slug!r}."
        )
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise DirectoryError(f"{email!r} is not an email address.") from None

    User = get_user_model()
    user = User.objects.select_for_update().filter(username=email).first()
    member = AccountMember.objects.select_related("account").filter(user=user).first() if user else None
    if member is not None and member.account.slug != account_slug:
        raise DirectoryError(
            f"{email} already administers the account {member.account.slug!r}; "
            "a login belongs to one account."
        )
    candidate = user or User(username=email, email=email)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise DirectoryError(" ".join(exc.messages)) from None

    account, _ = Account.objects.get_or_create(
        slug=account_slug, defaults={"name": account_name or account_slug.replace("-", " ").title()}
    )
    created = user is None
    user = candidate
    user.email = email
    user.is_active = True
    user.set_password(password)
    user.save()
    member, _ = AccountMember.objects.get_or_create(user=user, defaults={"account": account})
    return member, created
