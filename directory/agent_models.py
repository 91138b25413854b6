"""The directory's agents: the monitoring agent on each computer and logon, and the Windows
domains that map their logons to users' email domains. Part of ``directory.models``."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

if TYPE_CHECKING:
    from directory.models import Account


class AccountDomain(models.Model):
    """A Windows (NetBIOS) domain of the account and the email domain its logons belong to.

    An agent that reports ``ACME\\tyler`` matches the user ``tyler@acme.com`` when the account
    maps ``ACME`` to ``acme.com``.
    """

    account = models.ForeignKey("directory.Account", on_delete=models.CASCADE, related_name="domains")
    netbios_name = models.CharField(max_length=64)
    email_domain = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Upper("netbios_name"),
                Upper("email_domain"),
                "account",
                name="directory_domain_unique_per_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.netbios_name} → {self.email_domain}"


class AgentQuerySet(models.QuerySet):
    def for_account(self, account: Account) -> AgentQuerySet:
        return self.filter(account=account)

    def counted(self) -> AgentQuerySet:
        """Agents that count as members: not merged into another, of an active user."""
        return self.filter(
            merged_into__isnull=True, user__is_active=True, user__deleted_at__isnull=True
        )


class Agent(models.Model):
    """The monitoring agent on one computer for one logon; it may belong to a directory user.

    Merged agents are aliases of a primary agent (``merged_into``) and are not counted again.
    """

    account = models.ForeignKey("directory.Account", on_delete=models.CASCADE, related_name="agents")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        "directory.DirectoryUser", null=True, blank=True, on_delete=models.SET_NULL, related_name="agents"
    )
    logon_name = models.CharField(max_length=320)
    # The logon split into its parts: DOMAIN\name -> ("name", "DOMAIN"); name@dns -> ("name", "dns").
    logon_user = models.CharField(max_length=255, blank=True)
    logon_domain = models.CharField(max_length=255, blank=True)
    machine_name = models.CharField(max_length=255)
    os = models.CharField(max_length=255, blank=True)
    is_manually_assigned = models.BooleanField(default=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="aliases"
    )
    is_uninstall_required = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    objects = AgentQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Upper("machine_name"),
                Upper("logon_name"),
                "account",
                name="directory_agent_unique_logon_per_machine",
            )
        ]
        indexes = [
            models.Index(fields=["account", "user"], name="directory_agent_account_user"),
            models.Index(Upper("logon_user"), "account", name="directory_agent_logon_user"),
        ]

    def __str__(self) -> str:
        return f"{self.logon_name} on {self.machine_name}"

    @property
    def status(self) -> str:
        if self.is_uninstall_required:
            return "uninstall required"
        if self.merged_into_id:
            return "merged"
        if self.user_id is None:
            return "unassigned"
        return "active"
