"""Delete provisioning events older than the retention period, a batch at a time."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from integrations.models import ProvisioningEvent

BATCH_SIZE = 5000


class Command(BaseCommand):
    help = (
        "Delete provisioning events older than --days (default PROVISIONING_EVENT_RETENTION_DAYS), "
        "in batches that each commit on their own, so no lock is held for long."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=settings.PROVISIONING_EVENT_RETENTION_DAYS)
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, days: int, batch_size: int, **options) -> None:
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        cutoff = timezone.now() - timedelta(days=days)
        deleted = ProvisioningEvent.objects.prune(before=cutoff, batch_size=batch_size)
        self.stdout.write(
            f"Deleted {deleted} provisioning event{'s' if deleted != 1 else ''} older than "
            f"{days} days (before {cutoff:%Y-%m-%d %H:%M} UTC)."
        )
