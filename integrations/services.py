"""Writes for integration instances, API keys and provisioning events."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from directory.errors import DirectoryError, ErrorKind
from directory.models import Account
from integrations import keys
from integrations.models import AgentKey, ApiKey, IntegrationInstance, ProvisioningEvent

INSTANCE_NAME_MAX_LENGTH = 100


def clean_instance_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DirectoryError("Enter a name for the API key.", kind=ErrorKind.INVALID)
    if len(name) > INSTANCE_NAME_MAX_LENGTH:
        raise DirectoryError(
            f"The name can be at most {INSTANCE_NAME_MAX_LENGTH} characters.",
            kind=ErrorKind.INVALID,
        )
    return name


@transaction.atomic
def instance_create(
    *,
    account: Account,
    name: str,
    kind: str = IntegrationInstance.KIND_OKTA_SCIM,
    created_by: AbstractBaseUser | None = None,
    key: str | None = None,
) -> tuple[IntegrationInstance, str]:
    """Create an instance with its first key; returns the instance and the plaintext key.

    ``key`` lets the web drawer save the key it already showed; by default a new one is made.
    """
    name = clean_instance_name(name)
    if kind not in dict(IntegrationInstance.KIND_CHOICES):
        raise DirectoryError(f"Unknown integration kind {kind!r}.")
    if IntegrationInstance.objects.filter(
        account=account, name__iexact=name, deleted_at__isnull=True
    ).exists():
        raise DirectoryError(f"An API key named {name!r} already exists.", kind=ErrorKind.CONFLICT)
    try:
        with transaction.atomic():
            instance = IntegrationInstance.objects.create(
                account=account, name=name, kind=kind, created_by=created_by
            )
    except IntegrityError:
        raise DirectoryError(
            f"An API key named {name!r} already exists.", kind=ErrorKind.CONFLICT
        ) from None
    plaintext = _api_key_add(instance=instance, created_by=created_by, key=key)
    return instance, plaintext


def _api_key_add(
    *, instance: IntegrationInstance, created_by: AbstractBaseUser | None, key: str | None
) -> str:
    plaintext = key or keys.generate_key()
    parsed = keys.parse_key(plaintext)
    if parsed is None:
        raise DirectoryError("That is not a valid API key.")
    ApiKey.objects.create(
        instance=instance,
        lookup=parsed.lookup,
        digest=keys.digest_key(plaintext),
        created_by=created_by,
    )
    return plaintext


@transaction.atomic
def api_key_regenerate(
    *, instance: IntegrationInstance, created_by: AbstractBaseUser | None = None
) -> str:
    """Revoke the instance's keys at once and issue a new one; returns the new plaintext."""
    if instance.is_deleted:
        raise DirectoryError("This instance was deleted.", status=404)
    ApiKey.objects.filter(instance=instance, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    plaintext = _api_key_add(instance=instance, created_by=created_by, key=None)
    _admin_event(instance, "key.regenerate", created_by)
    return plaintext


@transaction.atomic
def api_key_revoke(
    *, instance: IntegrationInstance, revoked_by: AbstractBaseUser | None = None
) -> int:
    """Revoke every key of the instance; returns how many were still usable."""
    revoked = ApiKey.objects.filter(instance=instance, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        _admin_event(instance, "key.revoke", revoked_by)
    return revoked


@transaction.atomic
def instance_delete(
    *, instance: IntegrationInstance, deleted_by: AbstractBaseUser | None = None
) -> None:
    """Stop the instance: its keys stop working; provisioned users and groups stay."""
    now = timezone.now()
    ApiKey.objects.filter(instance=instance, revoked_at__isnull=True).update(revoked_at=now)
    IntegrationInstance.objects.filter(pk=instance.pk).update(deleted_at=now)
    instance.deleted_at = now
    _admin_event(instance, "instance.delete", deleted_by)


def _admin_event(instance: IntegrationInstance, action: str, by: AbstractBaseUser | None) -> None:
    """Record an admin's change to an instance in its activity (never the key itself)."""
    event_record(
        account=instance.account,
        instance=instance,
        action=action,
        status_code=200,
        target_type="Instance",
        target_display=instance.name,
        detail=f"by {by.get_username()}" if by is not None else "",
    )


def instance_rename(*, instance: IntegrationInstance, name: str) -> IntegrationInstance:
    name = clean_instance_name(name)
    clash = IntegrationInstance.objects.filter(
        account_id=instance.account_id, name__iexact=name, deleted_at__isnull=True
    ).exclude(pk=instance.pk)
    if clash.exists():
        raise DirectoryError(f"An API key named {name!r} already exists.", kind=ErrorKind.CONFLICT)
    instance.name = name
    try:
        with transaction.atomic():
            instance.save(update_fields=["name"])
    except IntegrityError:
        raise DirectoryError(
            f"An API key named {name!r} already exists.", kind=ErrorKind.CONFLICT
        ) from None
    return instance


@dataclass(frozen=True)
class KeyCheck:
    """The outcome of checking a presented key: the key row, or why it was refused."""

    api_key: ApiKey | None
    failure: str | None = None


def api_key_authenticate(presented: str) -> KeyCheck:
    """Find the usable key matching ``presented``; one query, constant-time comparison."""
    parsed = keys.parse_key(presented)
    if parsed is None:
        return KeyCheck(None, "malformed")
    for candidate in ApiKey.objects.with_owners(parsed.lookup):
        if keys.key_matches(presented, candidate.digest):
            if candidate.is_revoked:
                return KeyCheck(candidate, "revoked")
            return KeyCheck(candidate)
    return KeyCheck(None, "unknown")


def event_record(
    *,
    account: Account | None,
    instance: IntegrationInstance | None,
    action: str,
    status_code: int,
    target_type: str = "",
    target_id: str = "",
    target_display: str = "",
    detail: str = "",
    client_ip: str | None = None,
) -> ProvisioningEvent:
    outcome = (
        ProvisioningEvent.OUTCOME_SUCCESS if status_code < 400 else ProvisioningEvent.OUTCOME_FAILURE
    )
    return ProvisioningEvent.objects.create(
        account=account,
        instance=instance,
        action=action,
        target_type=target_type,
        target_id=_storable(target_id, 64),
        target_display=_storable(target_display, 320),
        outcome=outcome,
        status_code=status_code,
        detail=_storable(detail, 500),
        client_ip=client_ip,
    )


def _storable(text: str, max_length: int) -> str:
    """Event text comes from clients: cut to the column and drop NULs PostgreSQL refuses."""
    return keys.redact_keys(text.replace("\x00", ""))[:max_length]


@transaction.atomic
def agent_key_regenerate(*, account: Account, created_by: AbstractBaseUser | None = None) -> str:
    """Revoke the account's agent deployment key(s) and issue a new one, shown once."""
    AgentKey.objects.filter(account=account, revoked_at__isnull=True).update(revoked_at=timezone.now())
    plaintext = keys.generate_key(keys.AGENT_KEY_PREFIX)
    parsed = keys.parse_key(plaintext, keys.AGENT_KEY_PREFIX)
    AgentKey.objects.create(
        account=account, lookup=parsed.lookup, digest=keys.digest_key(plaintext), created_by=created_by
    )
    return plaintext


def agent_key_authenticate(presented: str) -> tuple[AgentKey | None, str | None]:
    """(key, None) for a usable agent key, else (None or the revoked key, why)."""
    parsed = keys.parse_key(presented, keys.AGENT_KEY_PREFIX)
    if parsed is None:
        return None, "malformed"
    for candidate in AgentKey.objects.select_related("account").filter(lookup=parsed.lookup):
        if keys.key_matches(presented, candidate.digest):
            if candidate.revoked_at is not None:
                return candidate, "revoked"
            candidate.record_usage()
            return candidate, None
    return None, "unknown"
