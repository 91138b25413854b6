"""Reads for the Users and Groups pages. Every function takes the account first: nothing here
reads across accounts. Counts are subqueries, evaluated only for the page being shown."""

from __future__ import annotations

from django.db.models import F, Max, OuterRef, Q, QuerySet, Subquery

from directory.expressions import count_subquery
from directory.models import Account, Agent, DirectoryUser, Group, GroupMembership, UserTotals

USER_FILTERS = {
    "active": "Active",
    "deactivated": "Deactivated",
    "no-agent": "No agent",
    "several-agents": "Several agents",
}


def users_page(
    account: Account, *, search: str = "", status: str = "", group: Group | None = None
) -> QuerySet[DirectoryUser]:
    """The account's users for the Users page, newest first, with agent and group counts."""
    users = DirectoryUser.objects.for_account(account).select_related("provisioned_by")
    if search:
        users = users.filter(
            Q(user_name__icontains=search)
            | Q(email__icontains=search)
            | Q(display_name__icontains=search)
        )
    if group is not None:
        users = users.filter(memberships__group=group)
    if status == "active":
        users = users.filter(is_active=True)
    elif status == "deactivated":
        users = users.filter(is_active=False)
    elif status == "no-agent":
        users = users.filter(agent_count=0)
    elif status == "several-agents":
        users = users.filter(counted_agent_count__gt=1)
    last_seen = (
        Agent.objects.filter(user=OuterRef("pk"))
        .order_by()
        .values("user")
        .annotate(last=Max("last_seen_at"))
        .values("last")
    )
    return users.annotate(
        agent_total=F("counted_agent_count"),
        group_total=count_subquery(GroupMembership.objects.all(), "user"),
        last_seen_at=Subquery(last_seen),
    ).order_by("-id")


def users_page_total(
    totals: UserTotals, *, search: str = "", status: str = "", group: Group | None = None
) -> int | None:
    """How many users :func:`users_page` lists, where the account's ``totals`` tell without
    counting its rows; ``None`` where only counting them does."""
    if search or group is not None:
        return None
    return {"": totals.live, "active": totals.licensed, "deactivated": totals.deactivated}.get(status)


def user_for_account(account: Account, scim_id) -> DirectoryUser:
    return DirectoryUser.objects.for_account(account).select_related("provisioned_by").get(
        scim_id=scim_id
    )


def agents_of(user: DirectoryUser) -> QuerySet[Agent]:
    return user.agents.select_related("merged_into").order_by("first_seen_at", "id")


def candidate_agents(user: DirectoryUser, limit: int = 20) -> list[Agent]:
    """Unassigned agents whose logon user name is this user's name before the @."""
    names = {user.user_name.partition("@")[0], *(v.partition("@")[0] for v in user.email_rows.values_list("value", flat=True))}
    condition = Q()
    for name in names:
        if name:
            condition |= Q(logon_user__uexact=name)
    if not condition:
        return []
    return list(
        Agent.objects.filter(account_id=user.account_id, user__isnull=True)
        .filter(condition)
        .order_by("-last_seen_at")[:limit]
    )


def groups_page(account: Account, *, search: str = "") -> QuerySet[Group]:
    """The account's groups with member counts as Okta sees them (users) and as the product
    counts them (agents), and how many members have several agents or none."""
    groups = Group.objects.for_account(account).select_related("provisioned_by")
    if search:
        groups = groups.filter(display_name__icontains=search)
    return groups.with_member_counts().order_by("display_name", "id")


def group_for_account(account: Account, scim_id) -> Group:
    return Group.objects.for_account(account).select_related("provisioned_by").get(scim_id=scim_id)
