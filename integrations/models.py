"""Integration instances (one per configured identity provider), their API keys and the
provisioning events the SCIM API records."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from directory.models import Account
from directory.sql import columns as sql_columns
from directory.sql import from_row
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

    def record_usage(self) -> None:
        """Note that the key authenticated a request, writing at most once per interval.

        The conditional UPDATE keeps concurrent workers from each writing on every request.
        """
        now = timezone.now()
        interval = timedelta(seconds=settings.SCIM_KEY_USAGE_WRITE_INTERVAL)
        if self.last_used_at is not None and now - self.last_used_at < interval:
            return
        type(self).objects.filter(pk=self.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - interval)
        ).update(last_used_at=now)
        self.last_used_at = now


class ApiKeyManager(models.Manager):
    def with_owners(self, lookup: str) -> list[ApiKey]:
        """The keys with this lookup prefix, each with its instance and account attached.

        Every SCIM request runs this, so it is one hand-written join: building the same query
        with ``select_related`` cost the ORM three times the query's own time.
        """
        with connection.cursor() as cursor:
            cursor.execute(_key_with_owners_sql(), [lookup])
            rows = cursor.fetchall()
        found = []
        for row in rows:
            api_key, instance, account = (
                from_row(model, row[start:end]) for model, start, end in _key_owner_slices()
            )
            instance.account = account
            api_key.instance = instance
            found.append(api_key)
        return found


def _key_owner_models() -> list[tuple[type[models.Model], str]]:
    return [(ApiKey, "k"), (IntegrationInstance, "i"), (Account, "a")]


@cache
def _key_owner_slices() -> list[tuple[type[models.Model], int, int]]:
    slices, start = [], 0
    for model, _ in _key_owner_models():
        end = start + len(model._meta.concrete_fields)
        slices.append((model, start, end))
        start = end
    return slices


@cache
def _key_with_owners_sql() -> str:
    quote = connection.ops.quote_name
    selected = ", ".join(sql_columns(model, alias) for model, alias in _key_owner_models())
    return (
        f"SELECT {selected} FROM {quote(ApiKey._meta.db_table)} k"
        f" JOIN {quote(IntegrationInstance._meta.db_table)} i ON i.id = k.instance_id"
        f" JOIN {quote(Account._meta.db_table)} a ON a.id = i.account_id"
        " WHERE k.lookup = %s"
    )


class ApiKey(HashedKey):
    """A SCIM API key of an integration instance."""

    instance = models.ForeignKey(IntegrationInstance, on_delete=models.CASCADE, related_name="keys")

    objects = ApiKeyManager()

    class Meta:
        verbose_name = "API key"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None or self.instance.is_deleted


class ProvisioningEventQuerySet(models.QuerySet):
    def traffic(self) -> ProvisioningEventQuerySet:
        """What the identity provider's requests did or were refused; not admins' key changes."""
        return self.exclude(action__in=ProvisioningEvent.ADMIN_ACTIONS)


class ProvisioningEvent(models.Model):
    """One thing the SCIM API did or refused: who (key), what (action, target), outcome; and
    the admin's key changes on an instance (``ADMIN_ACTIONS``), so its activity tells both."""

    ADMIN_ACTIONS = ("key.regenerate", "key.revoke", "instance.delete")
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
