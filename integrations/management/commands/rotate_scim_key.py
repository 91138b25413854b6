from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.errors import DirectoryError
from integrations.models import IntegrationInstance
from integrations.services import (
    DEFAULT_ROTATION_OVERLAP_HOURS,
    MAX_ROTATION_OVERLAP_HOURS,
    api_key_rotate,
)
from integrations.templatetags.integrations_ui import clock


class Command(BaseCommand):
    help = (
        "Rotate the API key of an account's SCIM integration instance: the new key works at once, "
        "the current one until the new key's first request or the overlap's end. Prints the new "
        "key alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", required=True, help="Account slug, e.g. acme")
        parser.add_argument("--name", required=True, help="API key name, e.g. 'Okta production'")
        parser.add_argument(
            "--overlap-hours",
            type=int,
            default=DEFAULT_ROTATION_OVERLAP_HOURS,
            help=f"Hours the current key keeps working at most (0 to {MAX_ROTATION_OVERLAP_HOURS}; "
            f"default {DEFAULT_ROTATION_OVERLAP_HOURS}; 0 retires it at once).",
        )

    def handle(self, *args, account: str, name: str, overlap_hours: int, **options) -> None:
        if not 0 <= overlap_hours <= MAX_ROTATION_OVERLAP_HOURS:
            raise CommandError(f"--overlap-hours must be 0 to {MAX_ROTATION_OVERLAP_HOURS}.")
        instance = (
            IntegrationInstance.objects.filter(
                account__slug=account, name__iexact=" ".join(name.split()), deleted_at__isnull=True
            )
            .select_related("account")
            .first()
        )
        if instance is None:
            raise CommandError(f"No API key named {name!r} in account {account!r}.")
        try:
            new_key, key = api_key_rotate(
                instance=instance, overlap=timedelta(hours=overlap_hours)
            )
        except DirectoryError as exc:
            raise CommandError(exc.detail) from None
        previous = new_key.replaces
        if previous is None:
            state = "No previous key was in use."
        elif previous.retired_at is not None:
            state = f"The previous key {previous.masked} no longer works."
        else:
            state = (
                f"The previous key {previous.masked} works until the new key's first request, "
                f"or until {clock(previous.retires_at)} UTC."
            )
        self.stdout.write(
            f"Rotated the key of {instance.get_kind_display()} instance {instance.name!r} for "
            f"{account!r}. {state} The new key below is shown once:"
        )
        self.stdout.write(key)
