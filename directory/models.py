"""The customer's directory: accounts (tenants), their users, groups, memberships and agents."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import NamedTuple

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Upper
from django.utils import timezone

from directory import sql
from directory.agent_models import AccountDomain, Agent, AgentQuerySet  # noqa: F401 - the app's models
from directory.expressions import (
    count_subquery,
    count_where,
    sum_of,
    sum_subquery,
    totals_subquery,
)


class Account(models.Model):
    """A customer organization. Every other row in the product belongs to exactly one."""

    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    def user_totals(self) -> UserTotals:
        """Live users from the tally (counting 100,000 rows took 16 ms) and the deactivated
        ones, few, counted on their own small index: two small queries."""
        deactivated = self.users.filter(is_active=False, deleted_at__isnull=True).count()
        return UserTotals(live=LiveUserTally.total(self), deactivated=deactivated)

    def licensed_user_count(self) -> int:
        """Users who hold a licence: active and not deleted."""
        return self.user_totals().licensed


class UserTotals(NamedTuple):
    """An account's users that are not deleted, and how many of them are deactivated."""

    live: int
    deactivated: int

    @property
    def licensed(self) -> int:
        """Active and not deleted. Counting the active users themselves read nearly every user
        row (70 ms at 100,000 users)."""
        return self.live - self.deactivated


class AccountMember(models.Model):
    """A product login (Django user) that administers one account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_member"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="members")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} @ {self.account.slug}"


# Kept by the database triggers of migration 0006, never written by the ORM after an insert.
AGENT_COUNT_FIELDS = ("agent_count", "counted_agent_count")


class DirectoryUserQuerySet(models.QuerySet):
    def for_account(self, account: Account) -> DirectoryUserQuerySet:
        """The account's users that SCIM can see: deleted (tombstoned) users are left out."""
        return self.filter(account=account, deleted_at__isnull=True)


class LiveUserTally(models.Model):
    """Changes to an account's number of live (not deleted) users; their sum is that number.

    Counting 100,000 users took every unfiltered SCIM page 10 ms. Triggers on
    ``directory_directoryuser`` (migration 0008) add a row for every change in the
    transaction that made it, so the sum is exact in any snapshot. Rows are only ever inserted,
    so concurrent creates never wait on each other; :meth:`total` folds them into one row once
    there are many.
    """

    # No foreign key: the delete trigger writes rows for an account while it is being deleted.
    account_id = models.BigIntegerField(db_index=True)
    delta = models.IntegerField()

    FOLD_AFTER_ROWS = 64

    def __str__(self) -> str:
        return f"account {self.account_id}: {self.delta:+d}"

    @classmethod
    def total(cls, account: Account) -> int:
        """The account's live users: the same number as counting them, in one small query."""
        total, rows = sql.tally_sum(account.pk)
        if rows > cls.FOLD_AFTER_ROWS:
            cls.fold(account)
        return total

    @classmethod
    def total_of_each(cls) -> Coalesce:
        """:meth:`total` as an expression, to annotate accounts with."""
        return sum_subquery(cls.objects.all(), "account_id", "delta")

    @classmethod
    def fold(cls, account: Account) -> None:
        """Replace the account's rows by one row holding their sum (see :func:`sql.tally_fold`)."""
        sql.tally_fold(account.pk)


class DirectoryUser(models.Model):
    """A person in the customer's directory, provisioned as a SCIM User.

    ``user_name`` is stored exactly as sent and is unique per account ignoring case. A SCIM
    DELETE leaves a tombstone (``deleted_at``) so history and events keep their target.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="users")
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user_name = models.CharField(max_length=320)
    external_id = models.CharField(max_length=255, blank=True)
    given_name = models.CharField(max_length=255, blank=True)
    family_name = models.CharField(max_length=255, blank=True)
    middle_name = models.CharField(max_length=255, blank=True)
    honorific_prefix = models.CharField(max_length=64, blank=True)
    honorific_suffix = models.CharField(max_length=64, blank=True)
    formatted_name = models.CharField(max_length=512, blank=True)
    display_name = models.CharField(max_length=512, blank=True)
    nick_name = models.CharField(max_length=255, blank=True)
    profile_url = models.CharField(max_length=1024, blank=True)
    title = models.CharField(max_length=255, blank=True)
    user_type = models.CharField(max_length=64, blank=True)
    preferred_language = models.CharField(max_length=64, blank=True)
    locale = models.CharField(max_length=64, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    # The primary address, copied from the email rows so lists can show and search it
    # without a join.
    email = models.CharField(max_length=320, blank=True)
    phone_numbers = models.JSONField(default=list, blank=True)
    addresses = models.JSONField(default=list, blank=True)
    # Other multi-valued attributes (ims, photos, roles, entitlements, x509Certificates).
    other_attributes = models.JSONField(default=dict, blank=True)
    # urn:ietf:params:scim:schemas:extension:enterprise:2.0:User, as sent.
    enterprise = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    # Kept by database triggers on directory_agent (migration 0006), so every way an agent is
    # linked, merged, unlinked or deleted updates them in the same transaction: the agents
    # linked to this user, and those of them not merged into another agent.
    agent_count = models.PositiveIntegerField(default=0, editable=False)
    counted_agent_count = models.PositiveIntegerField(default=0, editable=False)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The integration (e.g. OKTA via SCIM) that created the user; empty for users made by hand.
    provisioned_by = models.ForeignKey(
        "integrations.IntegrationInstance",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A product login this person signs in with, if any; deactivation locks it.
    login = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="directory_user",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_modified_at = models.DateTimeField(default=timezone.now)

    objects = DirectoryUserQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Upper("user_name"),
                "account",
                condition=Q(deleted_at__isnull=True),
                name="directory_user_unique_user_name_per_account",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "id"], name="directory_user_account_id"),
            # A group's counts read these four columns for each of its members: index-only.
            models.Index(
                fields=["id"],
                include=["is_active", "deleted_at", "agent_count", "counted_agent_count"],
                name="directory_user_agent_counts",
            ),
            # SCIM lists count and skip only users that are not tombstoned: index-only scans.
            models.Index(
                fields=["account", "id"],
                condition=Q(deleted_at__isnull=True),
                name="directory_user_live",
            ),
            models.Index(fields=["account", "external_id"], name="directory_user_external_id"),
            # The Users page's counts and filters: small, since few users are deactivated or
            # have several agents, and written only for those.
            models.Index(
                fields=["account", "id"],
                condition=Q(deleted_at__isnull=True, is_active=False),
                name="directory_user_deactivated",
            ),
            models.Index(
                fields=["account", "id"],
                condition=Q(deleted_at__isnull=True, counted_agent_count__gt=1),
                name="directory_user_several_agents",
            ),
        ]

    def __str__(self) -> str:
        return self.user_name

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = self.written_fields()
        super().save(*args, **kwargs)

    @classmethod
    @cache
    def written_fields(cls) -> tuple[str, ...]:
        """What an update of a whole user writes. The agent counts belong to the triggers: an
        update never writes them back, so a user loaded before an agent changed cannot put a
        stale count back."""
        return tuple(
            field.name
            for field in cls._meta.concrete_fields
            if not field.primary_key and field.name not in AGENT_COUNT_FIELDS
        )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def source_label(self) -> str:
        return self.provisioned_by.get_kind_display() if self.provisioned_by_id else "Manual"

    def set_active(self, active: bool, *, at: datetime | None = None) -> bool:
        """Activate or deactivate (in memory); returns True if the state changed.

        Deactivation removes access but keeps the user, its id and its data.
        """
        if active == self.is_active:
            return False
        self.is_active = active
        self.deactivated_at = None if active else (at or timezone.now())
        return True

    def sync_login_access(self) -> None:
        """Make the linked product login follow the directory state."""
        if self.login_id is None:
            return
        allowed = self.is_active and not self.is_deleted
        type(self.login).objects.filter(pk=self.login_id).exclude(is_active=allowed).update(
            is_active=allowed
        )


class UserEmail(models.Model):
    """One of a user's email addresses, kept as rows so filters can search every address."""

    user = models.ForeignKey(DirectoryUser, on_delete=models.CASCADE, related_name="email_rows")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    value = models.CharField(max_length=320)
    type = models.CharField(max_length=32, blank=True)
    display = models.CharField(max_length=320, blank=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(Upper("value"), "account", name="directory_useremail_value"),
        ]

    def __str__(self) -> str:
        return self.value


class GroupQuerySet(models.QuerySet):
    def for_account(self, account: Account) -> GroupQuerySet:
        return self.filter(account=account)

    def with_member_counts(self) -> GroupQuerySet:
        """Annotate each group's members as the identity provider set them (``user_total``),
        as the product counts them (``agent_total``: one per unmerged agent of an active
        member) and its active members with no agent yet (``pending_total``)."""
        active = GroupMembership.objects.filter(user__is_active=True, user__deleted_at__isnull=True)
        return self.annotate(
            user_total=count_subquery(GroupMembership.objects.all(), "group"),
            active_member_totals=totals_subquery(
                active,
                "group",
                agents=sum_of("user__counted_agent_count"),
                pending=count_where(Q(user__agent_count=0)),
            ),
        )

    @staticmethod
    def agent_total_order() -> Coalesce:
        """``Group.agent_total`` as an expression, to sort ``with_member_counts()`` by."""
        return Coalesce(Cast(KT("active_member_totals__agents"), models.IntegerField()), 0)


class Group(models.Model):
    """A group of directory users; groups pushed by Okta are owned by Okta."""

    SOURCE_SCIM = "scim"
    SOURCE_PRODUCT = "product"
    SOURCE_CHOICES = [(SOURCE_SCIM, "Pushed over SCIM"), (SOURCE_PRODUCT, "Created in the product")]

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="groups")
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    display_name = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=16, choices=SOURCE_CHOICES, default=SOURCE_SCIM)
    provisioned_by = models.ForeignKey(
        "integrations.IntegrationInstance",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    members = models.ManyToManyField(
        DirectoryUser, through="GroupMembership", related_name="member_groups"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_modified_at = models.DateTimeField(default=timezone.now)

    objects = GroupQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Upper("display_name"), "account", name="directory_group_unique_name_per_account"
            ),
        ]
        indexes = [models.Index(fields=["account", "id"], name="directory_group_account_id")]

    def __str__(self) -> str:
        return self.display_name

    def lock(self) -> Group:
        """Re-read this group with a row lock held to the end of the transaction.

        Okta pushes membership changes for one group in parallel (PATCH batches, PUT of the
        whole list); without the lock two writers would each compute their change from a stale
        member list and one of them would be lost.
        """
        assert transaction.get_connection().in_atomic_block, "lock() needs a transaction"
        return Group.objects.select_for_update().get(pk=self.pk)

    def touch(self) -> None:
        self.last_modified_at = timezone.now()
        Group.objects.filter(pk=self.pk).update(last_modified_at=self.last_modified_at)

    def active_member_count(self) -> int:
        """Members as the identity provider set them, counting only active users."""
        return self.memberships.filter(user__is_active=True, user__deleted_at__isnull=True).count()

    @property
    def agent_total(self) -> int:
        """Members as the product counts them; on groups from ``with_member_counts()``."""
        return (self.active_member_totals or {}).get("agents") or 0

    @property
    def pending_total(self) -> int:
        """Active members with no agent yet; on groups from ``with_member_counts()``."""
        return (self.active_member_totals or {}).get("pending") or 0

    def member_counts(self) -> tuple[int, int, int]:
        """(members as set by the identity provider, as the product counts them, pending) in
        one query; see ``GroupQuerySet.with_member_counts``."""
        counted = Group.objects.with_member_counts().get(pk=self.pk)
        return counted.user_total, counted.agent_total, counted.pending_total

    def agent_member_count(self) -> int:
        """Members as the product counts them: one per (unmerged) agent of an active member."""
        return self.member_counts()[1]

    def pending_member_count(self) -> int:
        """Active members with no agent yet."""
        return self.member_counts()[2]


class GroupMembershipQuerySet(models.QuerySet):
    def remove_members(self, group: Group, user_ids: Iterable[int]) -> int:
        """End the memberships of ``user_ids`` in ``group``; returns how many ended."""
        return sql.memberships_delete(group.pk, list(user_ids))

    def add_missing(self, group: Group, members: dict[int, tuple[str, str]]) -> int:
        """Make each of ``members`` ({user pk: (SCIM id, display)}) a member of ``group``
        unless it is one already, in the order given; returns how many were added."""
        return sql.memberships_insert_missing(group.pk, members)


class GroupMembership(models.Model):
    """A user's membership of a group, exactly as the identity provider set it."""

    # Indexed by the unique (group, user), the (user, group) and the listing indexes below:
    # every index here is written by each membership a big PUT or PATCH adds.
    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    user = models.ForeignKey(
        DirectoryUser, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    # The member's SCIM id (a user's never changes), so a group's members are listed without
    # joining each one to its user: 150 ms of a 50,000-member group's GET went to that join.
    user_scim_id = models.UUIDField(editable=False)
    # The member's "display" exactly as the identity provider sent it (often its userName).
    display = models.CharField(max_length=320, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = GroupMembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="directory_membership_unique")
        ]
        indexes = [
            models.Index(fields=["user", "group"], name="directory_membership_user"),
            # Members are listed in the order they were added, from this index alone (an
            # index-only scan): reading a 50,000-member group took 55 ms from the table, with
            # a sort, and 17 ms from here. SQLite leaves out INCLUDE.
            models.Index(
                fields=["group", "id"],
                include=["user_scim_id", "user", "display"],
                name="directory_membership_listing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id}"

    def save(self, *args, **kwargs) -> None:
        if self.user_scim_id is None and self.user_id is not None:
            self.user_scim_id = self.user.scim_id
        super().save(*args, **kwargs)
