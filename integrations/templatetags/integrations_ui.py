"""Template helpers for the Integrations pages: relative times and event labels."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timesince

from integrations.models import IntegrationInstance, ProvisioningEvent
from integrations.selectors import masked_key

register = template.Library()


@register.simple_tag
def event_retention_days() -> int:
    """How many days of provisioning activity are kept (manage.py prune_events)."""
    return settings.PROVISIONING_EVENT_RETENTION_DAYS


ACTION_LABELS = {
    "user.create": "User created",
    "user.update": "User updated",
    "user.deactivate": "User deactivated",
    "user.reactivate": "User reactivated",
    "user.delete": "User deleted",
    "group.create": "Group created",
    "group.update": "Group updated",
    "group.rename": "Group renamed",
    "group.members.add": "Members added",
    "group.members.remove": "Members removed",
    "group.delete": "Group deleted",
    "auth.failure": "API key rejected",
    "key.regenerate": "API key regenerated",
    "key.rotate": "API key rotated",
    "key.first_use": "New API key first used",
    "key.retire": "Old API key retired",
    "key.revoke": "API key revoked",
    "instance.delete": "Instance deleted",
}


@register.filter
def ago(value: datetime | None) -> str:
    """"5 minutes ago" (one unit), "just now" under a minute; "" for None."""
    if value is None:
        return ""
    now = timezone.now()
    if now - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value, now, depth=1)} ago"


@register.filter
def clock(value: datetime | None) -> str:
    """A moment within the next days as people say it: "14:05 today", "14:05 tomorrow",
    "14:05 on Fri 11 Dec" (UTC, the time zone of every page)."""
    if value is None:
        return ""
    value = timezone.localtime(value)
    days = (value.date() - timezone.localdate()).days
    time = value.strftime("%H:%M")
    if days == 0:
        return f"{time} today"
    if days == 1:
        return f"{time} tomorrow"
    return f"{time} on {value.strftime('%a')} {value.day} {value.strftime('%b')}"


@register.filter
def action_label(event: ProvisioningEvent) -> str:
    return ACTION_LABELS.get(event.action, event.action)


@register.filter
def event_target(event: ProvisioningEvent) -> str:
    if event.target_display:
        return event.target_display
    if event.target_id:
        return f"{event.target_type} {event.target_id}".strip()
    return "—"


@register.filter
def masked(instance: IntegrationInstance) -> str:
    return masked_key(instance)
