from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.text import slugify

from directory.errors import DirectoryError
from directory.models import Account
from integrations.models import IntegrationInstance
from integrations.services import instance_create


class Command(BaseCommand):
    help = (
        "Create a SCIM integration instance for an account (creating the account if missing) and "
        "print its new API key alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", required=True, help="Account slug, e.g. acme")
        parser.add_argument("--name", required=True, help="API key name, e.g. 'Okta production'")
        parser.add_argument(
            "--kind",
            default=IntegrationInstance.KIND_OKTA_SCIM,
            choices=[kind for kind, _ in IntegrationInstance.KIND_CHOICES],
        )

    def handle(self, *args, account: str, name: str, kind: str, **options) -> None:
        slug = slugify(account)
        if not slug or slug != account:
            raise CommandError(f"--account must be a slug (lowercase letters, digits, '-'): {account!r}")
        account_obj, created = Account.objects.get_or_create(slug=slug, defaults={"name": slug})
        if created:
            self.stdout.write(f"Created account {slug!r}.")
        try:
            instance, key = instance_create(account=account_obj, name=name, kind=kind)
        except DirectoryError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(
            f"Created {instance.get_kind_display()} instance {instance.name!r} for {slug!r}. "
            "The key below is shown once:"
        )
        self.stdout.write(key)
