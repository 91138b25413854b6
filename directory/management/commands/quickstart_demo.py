from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from directory.models import Account, AccountMember
from integrations.services import instance_create

DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.example"


class Command(BaseCommand):
    help = "Create (or refresh) the demo account, its admin login and a SCIM key; print them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000/scim/v1")

    @transaction.atomic
    def handle(self, *args, base_url: str, **options) -> None:
        account, _ = Account.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": "Demo Company"})
        password = secrets.token_urlsafe(12)
        User = get_user_model()
        admin, _ = User.objects.get_or_create(
            username=DEMO_EMAIL, defaults={"email": DEMO_EMAIL}
        )
        admin.email = DEMO_EMAIL
        admin.is_staff = True
        admin.is_superuser = True
        admin.is_active = True
        admin.set_password(password)
        admin.save()
        AccountMember.objects.update_or_create(user=admin, defaults={"account": account})
        existing = account.instances.filter(deleted_at__isnull=True).count()
        _, key = instance_create(
            account=account, name=f"Demo Okta key {existing + 1}", created_by=admin
        )
        self.stdout.write("")
        self.stdout.write("Demo account ready.")
        self.stdout.write(f"  Admin login:     {DEMO_EMAIL}")
        self.stdout.write(f"  Admin password:  {password}")
        self.stdout.write(f"  SCIM base URL:   {base_url}")
        self.stdout.write(f"  SCIM API key:    {key}")
        self.stdout.write(
            f"  Try it:          curl -H 'Authorization: Bearer {key}' '{base_url}/Users?count=2'"
        )
        self.stdout.write("")
