"""Agents: check-in, matching to directory users, manual assignment, merge and unmerge.

Matching rule: an agent belongs to the account's user whose userName or any email equals its
logon (ignoring case). ``name@domain`` logons are compared as they are; ``DOMAIN\\name`` logons
are compared as ``name@<email domain>`` for each email domain the account maps DOMAIN to. A
manual assignment is never overwritten by matching.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from directory import sql
from directory.errors import DirectoryError, ErrorKind
from directory.models import Account, AccountDomain, Agent, DirectoryUser, UserEmail


def split_logon(logon_name: str) -> tuple[str, str]:
    """'ACME\\tyler' -> ('tyler', 'ACME'); 'tyler@acme.com' -> ('tyler', 'acme.com')."""
    logon_name = logon_name.strip()
    if "\\" in logon_name:
        domain, _, user = logon_name.partition("\\")
        return user, domain
    if "@" in logon_name:
        user, _, domain = logon_name.rpartition("@")
        return user, domain
    return logon_name, ""


def logon_identifiers(account: Account, logon_name: str) -> set[str]:
    """The userNames/emails (upper-cased) an agent's logon can stand for."""
    user, domain = split_logon(logon_name)
    if not user:
        return set()
    if "@" in logon_name and "\\" not in logon_name:
        return {logon_name.strip().upper()}
    if not domain:
        return set()
    mapped = AccountDomain.objects.filter(account=account, netbios_name__uexact=domain)
    return {f"{user}@{email_domain}".upper() for email_domain in mapped.values_list("email_domain", flat=True)}


def match_user(account: Account, logon_name: str) -> DirectoryUser | None:
    identifiers = logon_identifiers(account, logon_name)
    if not identifiers:
        return None
    users = DirectoryUser.objects.for_account(account).annotate(upper_name=Upper("user_name"))
    by_name = users.filter(upper_name__in=identifiers).order_by("id").first()
    if by_name is not None:
        return by_name
    email_owner = (
        UserEmail.objects.annotate(upper_value=Upper("value"))
        .filter(account=account, upper_value__in=identifiers, user__deleted_at__isnull=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .first()
    )
    return users.filter(pk=email_owner).first() if email_owner else None


def agent_field_max_length(field: str) -> int:
    """The column limit of an Agent field: the one source for the API's and the service's checks."""
    return Agent._meta.get_field(field).max_length


def _clean(value, label: str, max_length: int, *, required: bool) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise DirectoryError(f"{label} must be a string.")
    if required and not text:
        raise DirectoryError(f"{label} is required.")
    if len(text) > max_length or "\x00" in text:
        raise DirectoryError(f"{label} must be at most {max_length} printable characters.")
    return text


@transaction.atomic
def agent_check_in(
    *, account: Account, logon_name: str, machine_name: str, os: str = ""
) -> tuple[Agent, bool]:
    """Register an agent or refresh it; returns (agent, created). A repeat never duplicates.

    Two first check-ins of one agent may race; the unique index lets one insert win and the
    other then updates that row.
    """
    limit = agent_field_max_length
    logon_name = _clean(logon_name, "logon_name", limit("logon_name"), required=True)
    machine_name = _clean(machine_name, "machine_name", limit("machine_name"), required=True)
    os = _clean(os, "os", limit("os"), required=False)
    user, domain = split_logon(logon_name)
    if not user:
        raise DirectoryError("logon_name needs a user name (DOMAIN\\name or name@domain).")
    if len(user) > limit("logon_user") or len(domain) > limit("logon_domain"):
        raise DirectoryError(
            f"logon_name's user name and domain must each be at most "
            f"{min(limit('logon_user'), limit('logon_domain'))} characters."
        )
    now = timezone.now()
    existing = (
        Agent.objects.select_for_update()
        .filter(account=account, machine_name__uexact=machine_name, logon_name__uexact=logon_name)
        .first()
    )
    created = existing is None
    if created:
        try:
            with transaction.atomic():
                agent = Agent.objects.create(
                    account=account,
                    logon_name=logon_name,
                    logon_user=user,
                    logon_domain=domain,
                    machine_name=machine_name,
                    os=os,
                    first_seen_at=now,
                    last_seen_at=now,
                )
        except IntegrityError:
            agent = Agent.objects.select_for_update().get(
                account=account, machine_name__uexact=machine_name, logon_name__uexact=logon_name
            )
            created = False
    else:
        agent = existing
    agent.last_seen_at = now
    if os:
        agent.os = os
    if agent.user_id is None and not agent.is_manually_assigned:
        matched = match_user(account, logon_name)
        # The flag follows the user's state read under its row lock, which a deactivation
        # holds while it flags the user's agents: read without it, a deactivation committing
        # in between left this agent unflagged on an inactive user.
        state = None
        if matched is not None:
            state = (
                DirectoryUser.objects.select_for_update()
                .filter(pk=matched.pk, deleted_at__isnull=True)
                .values_list("is_active", flat=True)
                .first()
            )
        if state is not None:
            agent.user = matched
            agent.is_uninstall_required = not state
    agent.save()
    return agent, created


def agents_match_user(*, user: DirectoryUser, names: set[str]) -> int:
    """Attach the account's unassigned, never hand-assigned agents whose logon is one of
    ``names`` (the user's userName and emails).

    Runs when SCIM creates a user or changes its userName or emails.
    """
    return sql.agents_attach(user.account_id, user.pk, sorted(names), uninstall=not user.is_active)


def agents_follow_user_state(*, user: DirectoryUser) -> int:
    """Flag a deactivated or deleted user's agents for uninstall; clear the flag on reactivation.

    The product does not uninstall agents itself; the flag tells the admin to.
    """
    if not user.agent_count:
        # The caller holds the user's row lock, which the agent count triggers also take: the
        # count it read is current, and a user without agents has none to flag.
        return 0
    return sql.agents_flag_uninstall(user.pk, required=not user.is_active or user.deleted_at is not None)


def _lock_users_first(user_ids) -> None:
    """Lock the users whose agent counts a change will update, before any agent row.

    The count triggers update a user's row while the agent rows are locked; a SCIM write locks
    the user first and then updates its agents. Taking the users first here keeps one order.
    """
    ids = sorted({pk for pk in user_ids if pk is not None})
    if ids:
        list(DirectoryUser.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


@transaction.atomic
def agent_assign(*, agent: Agent, user: DirectoryUser | None) -> Agent:
    """Assign (or unassign, with None) an agent by hand; matching will not change it again."""
    if user is not None and user.account_id != agent.account_id:
        raise DirectoryError("That user belongs to another account.", status=404)
    _lock_users_first([agent.user_id, user.pk if user else None])
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    if agent.user_id != (user.pk if user else None):
        Agent.objects.filter(merged_into=agent).update(merged_into=None)
        agent.merged_into = None
    agent.user = user
    agent.is_manually_assigned = True
    agent.is_uninstall_required = bool(user and (not user.is_active or user.deleted_at))
    agent.save()
    return agent


@transaction.atomic
def agents_merge(*, primary: Agent, others: list[Agent], across_users: bool = False) -> int:
    """Make ``others`` aliases of ``primary`` so their user counts once in every group.

    Agents of different users merge only when the admin confirmed it (``across_users``).
    """
    ids = {agent.pk for agent in others} - {primary.pk}
    if not ids:
        raise DirectoryError("Choose at least one other agent to merge into the primary agent.")
    _lock_users_first(
        Agent.objects.filter(Q(pk__in=ids) | Q(merged_into_id__in=ids)).values_list("user_id", flat=True)
    )
    locked = list(Agent.objects.select_for_update().filter(pk__in=ids | {primary.pk}))
    if len(locked) != len(ids) + 1 or any(a.account_id != primary.account_id for a in locked):
        raise DirectoryError("Agents can only be merged within one account.", status=404)
    primary = next(a for a in locked if a.pk == primary.pk)
    if primary.merged_into_id:
        raise DirectoryError("The primary agent is itself merged; unmerge it first.")
    if not across_users and any(a.user_id != primary.user_id for a in locked):
        raise DirectoryError(
            "These agents belong to different users; confirm to merge them anyway.",
            kind=ErrorKind.NEEDS_CONFIRMATION,
        )
    Agent.objects.filter(merged_into_id__in=ids).update(merged_into=primary)
    return Agent.objects.filter(pk__in=ids).update(merged_into=primary)


@transaction.atomic
def agent_unmerge(*, agent: Agent) -> None:
    """Turn an alias back into an agent of its own (merging is reversible)."""
    _lock_users_first([agent.user_id])
    Agent.objects.filter(pk=agent.pk).update(merged_into=None)
    agent.merged_into = None
