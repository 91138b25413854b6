"""Writes for integration instances, API keys and provisioning events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from directory.errors import DirectoryError, ErrorKind
from directory.models import Account
from directory.sql import row_insert
from integrations import keys
from integrations.models import (
    AgentKey,
    ApiKey,
    HashedKey,
    IntegrationInstance,
    ProvisioningEvent,
)
from integrations.providers import provider_get

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
    _, plaintext = _api_key_add(instance=instance, created_by=created_by, key=key)
    return instance, plaintext


def _api_key_add(
    *,
    instance: IntegrationInstance,
    created_by: AbstractBaseUser | None,
    key: str | None,
    replaces: ApiKey | None = None,
) -> tuple[ApiKey, str]:
    plaintext = key or keys.generate_key()
    parsed = keys.parse_key(plaintext)
    if parsed is None:
        raise DirectoryError("That is not a valid API key.")
    api_key = ApiKey.objects.create(
        instance=instance,
        lookup=parsed.lookup,
        digest=keys.digest_key(plaintext),
        created_by=created_by,
        replaces=replaces,
    )
    return api_key, plaintext


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
    _, plaintext = _api_key_add(instance=instance, created_by=created_by, key=None)
    _admin_event(instance, "key.regenerate", created_by)
    return plaintext


DEFAULT_ROTATION_OVERLAP_HOURS = 24
MAX_ROTATION_OVERLAP_HOURS = 168


@transaction.atomic
def api_key_rotate(
    *,
    instance: IntegrationInstance,
    overlap: timedelta = timedelta(hours=DEFAULT_ROTATION_OVERLAP_HOURS),
    created_by: AbstractBaseUser | None = None,
) -> tuple[ApiKey, str]:
    """Issue a new key that works at once while the current one keeps working until the new
    key's first successful request or until ``overlap`` ends, whichever comes first. Returns
    the new key's row and its plaintext (shown once).

    A key still overlapping from an earlier rotation retires now: one previous key at a time.
    """
    if instance.is_deleted:
        raise DirectoryError("This instance was deleted.", status=404)
    if overlap < timedelta(0) or overlap > timedelta(hours=MAX_ROTATION_OVERLAP_HOURS):
        raise DirectoryError(
            f"The overlap can be 0 to {MAX_ROTATION_OVERLAP_HOURS} hours.", kind=ErrorKind.INVALID
        )
    # Two admins rotating at once would both replace the same key: the second waits here and
    # then finds the first one's new key current.
    IntegrationInstance.objects.select_for_update().filter(pk=instance.pk).first()
    now = timezone.now()
    usable = ApiKey.objects.filter(instance=instance, revoked_at__isnull=True, retired_at__isnull=True)
    for overlapping in usable.filter(retires_at__isnull=False):
        cause = "window" if overlapping.retires_at <= now else "rotated-again"
        _retirement_record(overlapping, at=now, cause=cause)
    current = usable.filter(retires_at__isnull=True).order_by("-created_at", "-id").first()
    new_key, plaintext = _api_key_add(
        instance=instance, created_by=created_by, key=None, replaces=current
    )
    if current is not None:
        current.retires_at = now + overlap
        current.save(update_fields=["retires_at"])
    _key_event_record(
        new_key, "key.rotate", _rotation_detail(instance, current, overlap, created_by), at=now
    )
    if current is not None and not overlap:
        _retirement_record(current, at=now, cause="no-overlap")
    return new_key, plaintext


def _rotation_detail(
    instance: IntegrationInstance,
    previous: ApiKey | None,
    overlap: timedelta,
    by: AbstractBaseUser | None,
) -> str:
    who = f"by {by.get_username()}; " if by is not None else ""
    if previous is None:
        return f"{who}no previous key was in use"
    if not overlap:
        return f"{who}no overlap: {_key_label(previous)} retired at once"
    vendor = _vendor(instance)
    return (
        f"{who}{_key_label(previous)} works until {vendor} first uses the new key, "
        f"or for {_hours(overlap)}"
    )


def _key_event_record(api_key: ApiKey, action: str, detail: str, *, at: datetime) -> None:
    """A rotation step in the key's instance activity (not provisioning traffic)."""
    _instance_event(api_key.instance, action, "Key", _key_label(api_key), detail, at=at)


def _key_label(api_key: ApiKey) -> str:
    """A key as events name it: its lookup prefix alone, which event text never redacts."""
    return f"key {api_key.lookup}…"


def _hours(overlap: timedelta) -> str:
    hours = int(overlap.total_seconds() // 3600)
    if hours and hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def _vendor(instance: IntegrationInstance) -> str:
    provider = provider_get(instance.kind)
    return provider.vendor if provider else "the identity provider"


RETIREMENT_CAUSES = {
    "first-use": "replaced by a rotation: {vendor} used the new key",
    "window": "replaced by a rotation: the overlap window ended",
    "no-overlap": "replaced by a rotation with no overlap",
    "rotated-again": "replaced by a rotation: the key was rotated again",
}


def _retirement_record(api_key: ApiKey, *, at: datetime, cause: str) -> bool:
    """Retire a rotated-out key and say so in its instance's activity, once."""
    with transaction.atomic():
        if not api_key.retire(at=at):
            return False
        detail = RETIREMENT_CAUSES[cause].format(vendor=_vendor(api_key.instance))
        _key_event_record(api_key, "key.retire", detail, at=api_key.retired_at)
    return True


def _successor_first_use_record(api_key: ApiKey) -> None:
    """The rotated-in key's first successful request: say so, and retire its predecessor."""
    now = timezone.now()
    instance = api_key.instance
    with transaction.atomic():
        detail = f"{_vendor(instance)} made its first request with the new key"
        _key_event_record(api_key, "key.first_use", detail, at=now)
        predecessor = ApiKey.objects.filter(pk=api_key.replaces_id).first()
        if predecessor is not None:
            predecessor.instance = instance
            _retirement_record(predecessor, at=now, cause="first-use")


def api_key_retirements_record(*, instance: IntegrationInstance) -> int:
    """Record the retirement of the instance's rotated-out keys whose overlap window has
    ended. Retirement itself needs no job (a key past ``retires_at`` is refused on sight);
    pages that show the activity call this first so the log says when it happened."""
    due = ApiKey.objects.filter(
        instance=instance,
        revoked_at__isnull=True,
        retired_at__isnull=True,
        retires_at__lte=timezone.now(),
    )
    recorded = 0
    for api_key in due:
        api_key.instance = instance
        recorded += _retirement_record(api_key, at=api_key.retires_at, cause="window")
    return recorded


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
    detail = f"by {by.get_username()}" if by is not None else ""
    _instance_event(instance, action, "Instance", instance.name, detail)


def _instance_event(
    instance: IntegrationInstance, action: str, target_type: str, target_display: str,
    detail: str, *, at: datetime | None = None,
) -> None:
    """An entry in an instance's activity that is not provisioning traffic: an admin's change
    or a key rotation's step."""
    event_record(
        account=instance.account,
        instance=instance,
        action=action,
        status_code=200,
        target_type=target_type,
        target_display=target_display,
        detail=detail,
        created_at=at,
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


KEY_REFUSALS: dict[type[HashedKey], dict[str, str]] = {
    ApiKey: {
        "missing": (
            "The Authorization header is missing. Send 'Authorization: Bearer <API key>' with the "
            "key from APIs & Integrations > Integrations."
        ),
        "scheme": (
            "The Authorization header must use the Bearer scheme: 'Authorization: Bearer <API key>'."
        ),
        "doubled": (
            "The Authorization header says 'Bearer' twice. Okta adds 'Bearer' itself: paste only "
            "the API key into the token field."
        ),
        "malformed": (
            "The API key is malformed: ActivTrak SCIM keys start with 'atk_scim_'. Copy the whole "
            "key again, or regenerate it."
        ),
        "unknown": (
            "The API key is not recognised. Check that the whole key was pasted, or regenerate it."
        ),
        "revoked": (
            "The API key was revoked or regenerated. Paste the current key into Okta, or "
            "regenerate it on the Integrations page."
        ),
        "deleted": (
            "The integration instance this API key belongs to was deleted, so none of its keys "
            "work any more. Create a new instance (and key) on the Integrations page, under APIs "
            "& Integrations > Integrations, and paste the new key into Okta."
        ),
        "replaced": (
            "The API key was replaced by a rotation and has retired. Paste the new key shown at "
            "the rotation into Okta, or rotate again on the Integrations page."
        ),
    },
    AgentKey: {
        "missing": "Send the agent deployment key as 'Authorization: Bearer atk_agent_…'.",
        "scheme": "The Authorization header must use the Bearer scheme: 'Bearer atk_agent_…'.",
        "doubled": "The Authorization header says 'Bearer' twice: send 'Bearer atk_agent_…' once.",
        "malformed": "The agent deployment key is malformed; agent keys start with 'atk_agent_'.",
        "unknown": "The agent deployment key is not recognised.",
        "revoked": "The agent deployment key was regenerated; deploy agents with the current key.",
    },
}


class KeyRefused(Exception):
    """A request's key was refused: ``reason`` for logs and events, ``detail`` for the client,
    and the refused ``key`` row when the key was one of ours (revoked or replaced)."""

    def __init__(self, model: type[HashedKey], reason: str, key: HashedKey | None = None) -> None:
        self.reason = reason
        self.detail = KEY_REFUSALS[model][reason]
        self.key = key
        super().__init__(self.detail)


@dataclass(frozen=True)
class KeyCheck:
    """The outcome of checking a presented key: the key row, or why it was refused; and when
    the check also counted the request, the key's hits in that rate-limit window."""

    api_key: HashedKey | None
    failure: str | None = None
    hits: int | None = None


def _candidates(model: type[HashedKey], lookup: str) -> list[HashedKey]:
    if model is ApiKey:
        return ApiKey.objects.with_owners(lookup)
    return list(model.objects.select_related("account").filter(lookup=lookup))


def key_check(
    presented: str, *, model: type[HashedKey] = ApiKey, count_in_window: int | None = None
) -> KeyCheck:
    """Find the key matching ``presented`` and say whether it may authenticate now; one
    query (the lookup prefix), constant-time digest comparison. With ``count_in_window`` (SCIM
    keys) the same query counts the request against the matching key's rate limit."""
    parsed = keys.parse_key(presented, model.prefix)
    if parsed is None:
        return KeyCheck(None, "malformed")
    digests = keys.digests_in_use(presented)
    hits = None
    if count_in_window is not None and model is ApiKey:
        candidates, hits = ApiKey.objects.with_owners_counted(
            parsed.lookup, digests, count_in_window
        )
    else:
        candidates = _candidates(model, parsed.lookup)
    for candidate in candidates:
        if keys.key_matches(digests, candidate.digest):
            return KeyCheck(candidate, candidate.refusal(timezone.now()), hits)
    return KeyCheck(None, "unknown")


def api_key_authenticate(presented: str) -> KeyCheck:
    return key_check(presented, model=ApiKey)


def agent_key_authenticate(presented: str) -> KeyCheck:
    return key_check(presented, model=AgentKey)


def key_authenticate(
    header: str | None, *, model: type[HashedKey], count_in_window: int | None = None
) -> KeyCheck:
    """The check of the usable key an ``Authorization: Bearer`` header carries (its
    ``api_key``, and ``hits`` when it was counted in ``count_in_window``), with its use noted;
    raises KeyRefused saying why not. The one check behind the SCIM API and the agent API.

    A rotated-in SCIM key's first successful request retires the key it replaces; a replaced
    key refused after its window is recorded as retired then, if no one noticed before.
    """
    try:
        presented = keys.bearer_token(header)
    except keys.BearerRefused as exc:
        raise KeyRefused(model, exc.reason) from None
    check = key_check(presented, model=model, count_in_window=count_in_window)
    if check.failure:
        if check.failure == "replaced" and check.api_key.retired_at is None:
            _retirement_record(check.api_key, at=check.api_key.retires_at, cause="window")
        raise KeyRefused(model, check.failure, check.api_key)
    key = check.api_key
    first_use = key.record_usage()
    if first_use and isinstance(key, ApiKey) and key.replaces_id is not None:
        _successor_first_use_record(key)
    return check


def event_record(**values) -> ProvisioningEvent:
    """Write one provisioning event (the arguments are :func:`event_build`'s)."""
    event = event_build(**values)
    row_insert(event)  # every SCIM request writes one: the ORM's compile of it was a fifth of a PUT
    return event


def event_build(
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
    created_at: datetime | None = None,
) -> ProvisioningEvent:
    """A provisioning event, not yet written: client text cut to its columns, the outcome
    from the status."""
    outcome = (
        ProvisioningEvent.OUTCOME_SUCCESS if status_code < 400 else ProvisioningEvent.OUTCOME_FAILURE
    )
    return ProvisioningEvent(
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
        created_at=created_at or timezone.now(),
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
