"""Reads for the Integrations page. Every one takes the account (or an instance already
fetched through it), so a page can never show another account's rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from directory.models import Account
from integrations import keys
from integrations.models import ApiKey, IntegrationInstance, ProvisioningEvent
from integrations.providers import PROVIDERS, Provider

RECENT_EVENTS = 10


def instances_for_account(*, account: Account) -> QuerySet[IntegrationInstance]:
    """The account's live instances, each annotated with its current key and latest event.

    ``key_lookup`` / ``key_last_used_at`` describe the current key (after a regeneration or a
    rotation the new key starts at "never used"); ``last_request_at`` is the latest request with
    any key still accepted (a rotated-out key in its overlap too); ``key_retires_at`` is when a
    rotated-out key retires at the latest (None without a rotation under way), so pages need no
    query to know there is none; ``last_event_*`` drive the card's "needs attention" state.
    """
    usable_keys = ApiKey.objects.filter(instance=OuterRef("pk"), revoked_at__isnull=True)
    current_key = usable_keys.order_by("-created_at", "-id")
    # During a rotation the provider still sends the old key: the last request is either key's.
    last_used_key = usable_keys.filter(last_used_at__isnull=False).order_by("-last_used_at")
    retiring_key = usable_keys.filter(retired_at__isnull=True, retires_at__isnull=False).order_by(
        "retires_at"
    )
    last_event = ProvisioningEvent.objects.traffic().filter(instance=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    return (
        IntegrationInstance.objects.filter(account=account, deleted_at__isnull=True)
        .select_related("created_by")
        .annotate(
            key_lookup=Subquery(current_key.values("lookup")[:1]),
            key_created_at=Subquery(current_key.values("created_at")[:1]),
            key_last_used_at=Subquery(current_key.values("last_used_at")[:1]),
            last_request_at=Subquery(last_used_key.values("last_used_at")[:1]),
            key_retires_at=Subquery(retiring_key.values("retires_at")[:1]),
            last_event_at=Subquery(last_event.values("created_at")[:1]),
            last_event_outcome=Subquery(last_event.values("outcome")[:1]),
        )
        .order_by("created_at", "id")
    )


def masked_key(instance: IntegrationInstance) -> str:
    """The current key as ``atk_scim_AbCd1234…``, from an ``instances_for_account`` row."""
    lookup = getattr(instance, "key_lookup", None)
    return keys.masked(lookup) if lookup else ""


def needs_attention(instance: IntegrationInstance) -> bool:
    """The latest request from the identity provider failed (e.g. it still sends an old key)."""
    return getattr(instance, "last_event_outcome", None) == ProvisioningEvent.OUTCOME_FAILURE


@dataclass(frozen=True)
class IntegrationCard:
    """One provider's card: its live instances and the status they add up to."""

    provider: Provider
    instances: list[IntegrationInstance]

    @property
    def count(self) -> int:
        return len(self.instances)

    @property
    def is_configured(self) -> bool:
        return bool(self.instances)

    @property
    def needs_attention(self) -> bool:
        return any(needs_attention(instance) for instance in self.instances)

    @property
    def last_used_at(self) -> datetime | None:
        used = [i.last_request_at for i in self.instances if i.last_request_at is not None]
        return max(used, default=None)

    @property
    def last_failure_at(self) -> datetime | None:
        failed = [i.last_event_at for i in self.instances if needs_attention(i)]
        return max(failed, default=None)

    @property
    def single(self) -> IntegrationInstance | None:
        return self.instances[0] if self.count == 1 else None


def integration_cards(*, account: Account) -> list[IntegrationCard]:
    """Every provider's card, in the order the providers are declared; one query."""
    by_kind: dict[str, list[IntegrationInstance]] = {kind: [] for kind in PROVIDERS}
    for instance in instances_for_account(account=account):
        by_kind.setdefault(instance.kind, []).append(instance)
    return [
        IntegrationCard(provider=provider, instances=by_kind[kind])
        for kind, provider in PROVIDERS.items()
    ]


def events_for_instance(
    *, instance: IntegrationInstance, outcome: str | None = None
) -> QuerySet[ProvisioningEvent]:
    events = ProvisioningEvent.objects.filter(instance=instance)
    if outcome:
        events = events.filter(outcome=outcome)
    return events.order_by("-created_at", "-id")


@dataclass(frozen=True)
class ActivitySummary:
    """What the View Instance drawer says about provisioning: the latest events and 24 h counts."""

    recent: list[ProvisioningEvent]
    succeeded_24h: int
    failed_24h: int
    last_failure: ProvisioningEvent | None


def instance_activity(*, instance: IntegrationInstance) -> ActivitySummary:
    events = events_for_instance(instance=instance)
    since = timezone.now() - timedelta(hours=24)
    counts = events.traffic().filter(created_at__gte=since).aggregate(
        succeeded=Count("id", filter=Q(outcome=ProvisioningEvent.OUTCOME_SUCCESS)),
        failed=Count("id", filter=Q(outcome=ProvisioningEvent.OUTCOME_FAILURE)),
    )
    recent = list(events[:RECENT_EVENTS])
    last_failure = next((event for event in recent if event.is_failure), None)
    if last_failure is None and counts["failed"]:
        last_failure = events.filter(outcome=ProvisioningEvent.OUTCOME_FAILURE).first()
    return ActivitySummary(
        recent=recent,
        succeeded_24h=counts["succeeded"],
        failed_24h=counts["failed"],
        last_failure=last_failure,
    )


@dataclass(frozen=True)
class KeyRotation:
    """A rotation under way: the new key, and the old key that still works until the new key's
    first request or ``previous.retires_at``, whichever comes first."""

    previous: ApiKey
    current: ApiKey


def retirement_is_due(instance: IntegrationInstance) -> bool:
    """A rotated-out key's window has ended and its retirement is not recorded yet (from an
    ``instances_for_account`` row, without a query)."""
    retires_at = instance.key_retires_at
    return retires_at is not None and retires_at <= timezone.now()


def key_rotation_for_instance(*, instance: IntegrationInstance) -> KeyRotation | None:
    """The rotation of an ``instances_for_account`` row still in its overlap, or None; a query
    only while one is under way."""
    retires_at = instance.key_retires_at
    if retires_at is None or retires_at <= timezone.now():
        return None
    previous = (
        ApiKey.objects.filter(
            instance=instance,
            revoked_at__isnull=True,
            retired_at__isnull=True,
            retires_at__gt=timezone.now(),
            replaced_by__isnull=False,
        )
        .select_related("replaced_by")
        .first()
    )
    if previous is None:
        return None
    return KeyRotation(previous=previous, current=previous.replaced_by)
