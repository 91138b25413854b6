from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.account_services import account_admin_create
from directory.errors import DirectoryError


class Command(BaseCommand):
    help = (
        "Create an admin login (email + password) for an account, creating the account if it "
        "does not exist. Running it again for the same email resets the password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", required=True, help="Account slug, e.g. acme")
        parser.add_argument("--email", required=True, help="The admin's email; it is the login")
        parser.add_argument("--password", required=True, help="The admin's password")
        parser.add_argument("--account-name", default="", help="Name for a new account")

    def handle(
        self, *args, account: str, email: str, password: str, account_name: str, **options
    ) -> None:
        try:
            member, created = account_admin_create(
                account_slug=account, email=email, password=password, account_name=account_name
            )
        except DirectoryError as exc:
            raise CommandError(exc.detail) from None
        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} admin {member.user.email} for account {member.account.slug!r}. "
            "They sign in at /accounts/login/."
        )
