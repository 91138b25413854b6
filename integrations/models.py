"""Integration instances (one per configured identity provider), their API keys and the
provisioning events the SCIM API records."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from directory.models import Account
from directory.sql import api_keys_with_owners, api_keys_with_owners_counted
from integrations import keys


class IntegrationInstance(models.Model):
    """One configured identity-provider connection of an account, e.g. "OKTA via SCIM"."""

    KIND_OKTA_SCIM = "okta_scim"
    KIND_ENTRA_SCIM = "entra_scim"
    KIND_CHOICES = [(KIND_OKTA_SCIM, "OKTA via SCIM"), (KIND_ENTRA_SCIM, "Entra ID via SCIM")]

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="instances")
    kind = models.CharField(max_length=32, choices=KIND_CHOICES, default=KIND_OKTA_SCIM)
    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "account",
                condition=Q(deleted_at__isnull=True),
                name="integrations_instance_unique_name_per_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class HashedKey(models.Model):
    """A key we issued, stored as a lookup prefix plus an HMAC digest; never the key itself."""

    prefix = keys.KEY_PREFIX

    lookup = models.CharField(max_length=keys.LOOKUP_LENGTH, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        return keys.masked(self.lookup, self.prefix)

    def refusal(self, now: datetime) -> str | None:
        """Why this key may not authenticate at ``now``, or None if it may."""
        return "revoked" if self.revoked_at is not None else None

    def record_usage(self) -> bool:
        """Note that the key authenticated a request, writing at most once per interval.

        The conditional UPDATE keeps concurrent workers from each writing on every request, and
        makes exactly one of several concurrent first requests see that it was the first: the
        return value, True only for the request that took the key from never used to used.
        """
        now = timezone.now()
        interval = timedelta(seconds=settings.SCIM_KEY_USAGE_WRITE_INTERVAL)
        if self.last_used_at is not None and now - self.last_used_at < interval:
            return False
        was_unused = self.last_used_at is None
        written = type(self).objects.filter(pk=self.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - interval)
        ).update(last_used_at=now)
        self.last_used_at = now
        return was_unused and written == 1


class ApiKeyManager(models.Manager):
    def with_owners(self, lookup: str) -> list[ApiKey]:
        """The keys with this lookup prefix, each with its instance and account attached.

        Every SCIM request runs this, so it is one hand-written join (``directory/sql/keys.py``):
        building the same query with ``select_related`` cost the ORM more than the query.
        """
        return api_keys_with_owners(lookup)

    def with_owners_counted(
        self, lookup: str, digests: list[str], window_index: int
    ) -> tuple[list[ApiKey], int | None]:
        """:meth:`with_owners`, counting the request against the key with one of ``digests``
        in the same statement: its hits in ``window_index`` (None if none matched)."""
        from integrations.ratelimit import async_commit_allowed  # it imports this module

        return api_keys_with_owners_counted(
            lookup, digests, window_index, async_commit=async_commit_allowed()
        )


class ApiKey(HashedKey):
    """A SCIM API key of an integration instance.

    A rotation issues a successor that ``replaces`` the current key and gives the current key a
    ``retires_at``: the end of the overlap window, brought forward to the successor's first
    successful request. ``retired_at`` is set once that retirement is recorded in the activity.
    """

    instance = models.ForeignKey(IntegrationInstance, on_delete=models.CASCADE, related_name="keys")
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_by"
    )
    retires_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyManager()

    class Meta:
        verbose_name = "API key"

    def refusal(self, now: datetime) -> str | None:
        # Deleting an instance also revokes its keys; the instance is what its admin must redo.
        if self.instance.is_deleted:
            return "deleted"
        if self.revoked_at is not None:
            return "revoked"
        if self.retires_at is not None and self.retires_at <= now:
            return "replaced"
        return None

    def retire(self, *, at: datetime) -> bool:
        """End this rotated-out key's overlap at ``at`` (never later than its window's end);
        False if it is retired or revoked already.

        The new key's first request and a reader noticing the window's end can race to retire
        the same key; the row lock makes exactly one of them win, so it is recorded once.
        """
        with transaction.atomic():
            row = (
                ApiKey.objects.select_for_update()
                .filter(pk=self.pk, retired_at__isnull=True, revoked_at__isnull=True)
                .first()
            )
            if row is None:
                return False
            at = min(at, row.retires_at) if row.retires_at is not None else at
            ApiKey.objects.filter(pk=self.pk).update(retires_at=at, retired_at=at)
        self.retires_at = self.retired_at = at
        return True


class ProvisioningEventQuerySet(models.QuerySet):
    def traffic(self) -> ProvisioningEventQuerySet:
        """What the identity provider's requests did or were refused; not the keys' lifecycle."""
        return self.exclude(action__in=ProvisioningEvent.KEY_LIFECYCLE_ACTIONS)

    def prune(self, *, before: datetime, batch_size: int) -> int:
        """Delete events created before ``before``, oldest ids first, ``batch_size`` rows per
        statement; returns how many went.

        Each DELETE commits on its own (autocommit), so rows are locked only for the moment
        their batch takes and SCIM writes that record new events never wait long behind it.
        """
        deleted = 0
        while True:
            batch = self.filter(created_at__lt=before).order_by("id").values("id")[:batch_size]
            count, _ = self.model.objects.filter(id__in=batch).delete()
            deleted += count
            if count < batch_size:
                return deleted


class ProvisioningEvent(models.Model):
    """One thing the SCIM API did or refused: who (key), what (action, target), outcome; and
    the instance's key lifecycle (``KEY_LIFECYCLE_ACTIONS``: the admin's key changes, a rotated
    key's first use and its predecessor's retirement), so its activity tells both."""

    KEY_LIFECYCLE_ACTIONS = (
        "key.regenerate",
        "key.rotate",
        "key.first_use",
        "key.retire",
        "key.revoke",
        "instance.delete",
    )
    OUTCOME_SUCCESS = "success"
    OUTCOME_FAILURE = "failure"
    OUTCOME_CHOICES = [(OUTCOME_SUCCESS, "Success"), (OUTCOME_FAILURE, "Failure")]

    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    instance = models.ForeignKey(
        IntegrationInstance, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=16, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_display = models.CharField(max_length=320, blank=True)
    outcome = models.CharField(max_length=16, choices=OUTCOME_CHOICES)
    status_code = models.PositiveSmallIntegerField()
    detail = models.CharField(max_length=500, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ProvisioningEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="integrations_event_recent"),
            models.Index(fields=["instance", "-created_at"], name="integrations_event_instance"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.outcome} ({self.status_code})"

    @property
    def is_failure(self) -> bool:
        return self.outcome == self.OUTCOME_FAILURE


class AgentKey(HashedKey):
    """The account's agent deployment key: agents present it to check in."""

    prefix = keys.AGENT_KEY_PREFIX

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="agent_keys")

    class Meta:
        verbose_name = "agent deployment key"


class RequestCounter(models.Model):
    """Requests counted in the current fixed window for one scope (an API key, or the failed
    authentications from one client address).

    One row per scope, updated by a single upsert per request (``integrations/ratelimit.py``), so
    every gunicorn worker and every host shares the count.
    """

    scope = models.CharField(max_length=120, primary_key=True)
    # The window's number: Unix time divided by the window length.
    window_index = models.BigIntegerField()
    hits = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.scope}: {self.hits}"
