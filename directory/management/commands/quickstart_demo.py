from __future__ import annotations

import secrets

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from directory.account_services import account_admin_create
from integrations.services import instance_create

DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.example"


class Command(BaseCommand):
    help = "Create (or refresh) the demo account, its admin login and a SCIM key; print them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000/scim/v1")

    @transaction.atomic
    def handle(self, *args, base_url: str, **options) -> None:
        password = secrets.token_urlsafe(12)
        member, _ = account_admin_create(
            account_slug=DEMO_SLUG, email=DEMO_EMAIL, password=password, account_name="Demo Company"
        )
        account, admin = member.account, member.user
        # The demo login also opens Django admin (operators' view) at /admin/.
        admin.is_staff = True
        admin.is_superuser = True
        admin.save(update_fields=["is_staff", "is_superuser"])
        existing = account.instances.filter(deleted_at__isnull=True).count()
        _, key = instance_create(
            account=account, name=f"Demo Okta key {existing + 1}", created_by=admin
        )
        self.stdout.write("")
        self.stdout.write("Demo account ready.")
        self.stdout.write(f"  Sign in at:      {base_url.removesuffix('/scim/v1')}/accounts/login/")
        self.stdout.write(f"  Admin login:     {DEMO_EMAIL}")
        self.stdout.write(f"  Admin password:  {password}")
        self.stdout.write(f"  SCIM base URL:   {base_url}")
        self.stdout.write(f"  SCIM API key:    {key}")
        self.stdout.write(
            f"  Try it:          curl -H 'Authorization: Bearer {key}' '{base_url}/Users?count=2'"
        )
        self.stdout.write("")
