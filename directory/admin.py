from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property

from directory import agent_services, services
from directory.errors import DirectoryError, ErrorKind
from directory.expressions import count_subquery
from directory.forms import AgentAssignForm
from directory.models import (
    Account,
    AccountDomain,
    AccountMember,
    Agent,
    DirectoryUser,
    Group,
    GroupMembership,
    GroupQuerySet,
    LiveUserTally,
    UserEmail,
)
from directory.sql import estimated_row_count


class EstimatedCountPaginator(Paginator):
    """For an unfiltered changelist of a huge table, PostgreSQL's row estimate stands in for
    COUNT(*), which would read the whole table on every page view."""

    EXACT_BELOW = 10_000

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is not None and not query.where:
            estimate = estimated_row_count(self.object_list.model._meta.db_table)
            if estimate is not None and estimate >= self.EXACT_BELOW:
                return estimate
        return super().count


class BigTableAdmin(admin.ModelAdmin):
    paginator = EstimatedCountPaginator
    show_full_result_count = False


class ExactIdSearch:
    """Searching for a pasted id matches ``exact_id_field`` exactly, through its unique index.

    ``"=scim_id"`` in search_fields compiles to ``UPPER(scim_id::text) = UPPER(term)``, which no
    index serves; OR-ed with the other fields it turned every search into a full scan.
    """

    exact_id_field = "scim_id"

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            key = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(**{self.exact_id_field: key}), may_have_duplicates


class AccountDomainInline(admin.TabularInline):
    model = AccountDomain
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    # The count columns are not named after the relations (users, agents, ...): admin sorts a
    # column named like a relation by that relation, listing an account once per user.
    list_display = (
        "slug",
        "name",
        "user_count",
        "agent_count",
        "group_count",
        "instance_count",
        "last_provisioned_at",
        "created_at",
    )
    search_fields = ("slug", "name")
    ordering = ("slug",)
    inlines = [AccountDomainInline]

    def get_queryset(self, request):
        from integrations.models import IntegrationInstance, ProvisioningEvent

        last_event = (
            ProvisioningEvent.objects.traffic()
            .filter(account=OuterRef("pk"), outcome="success")
            .order_by()
            .values("account")
            .annotate(last=Max("created_at"))
            .values("last")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                user_total=LiveUserTally.total_of_each(),
                agent_total=count_subquery(Agent.objects.all(), "account"),
                group_total=count_subquery(Group.objects.all(), "account"),
                instance_total=count_subquery(IntegrationInstance.objects.filter(deleted_at__isnull=True), "account"),
                last_event_at=Subquery(last_event),
            )
        )

    @admin.display(description="Users", ordering="user_total")
    def user_count(self, account: Account) -> int:
        return account.user_total

    @admin.display(description="Agents", ordering="agent_total")
    def agent_count(self, account: Account) -> int:
        return account.agent_total

    @admin.display(description="Groups", ordering="group_total")
    def group_count(self, account: Account) -> int:
        return account.group_total

    @admin.display(description="Instances", ordering="instance_total")
    def instance_count(self, account: Account) -> int:
        return account.instance_total

    @admin.display(description="Last provisioning", ordering="last_event_at")
    def last_provisioned_at(self, account: Account):
        return account.last_event_at


@admin.register(AccountMember)
class AccountMemberAdmin(admin.ModelAdmin):
    list_display = ("user", "account", "created_at")
    list_select_related = ("user", "account")
    search_fields = ("user__email", "user__username", "account__slug")
    list_filter = ("account",)
    raw_id_fields = ("user", "account")


class UserEmailInline(admin.TabularInline):
    model = UserEmail
    extra = 0
    fields = ("value", "type", "is_primary")
    readonly_fields = ("value", "type", "is_primary")
    can_delete = False


@admin.register(DirectoryUser)
class DirectoryUserAdmin(ExactIdSearch, BigTableAdmin):
    list_display = (
        "user_name",
        "display_name",
        "account",
        "is_active",
        "deleted_at",
        "created_at",
        "last_modified_at",
    )
    list_select_related = ("account",)
    list_filter = ("is_active", ("deleted_at", admin.EmptyFieldListFilter), "account")
    search_fields = ("user_name", "email", "display_name", "external_id")
    readonly_fields = ("scim_id", "created_at", "last_modified_at", "deactivated_at", "deleted_at")
    raw_id_fields = ("account", "login", "provisioned_by")
    inlines = [UserEmailInline]
    actions = ["deactivate", "reactivate"]

    @admin.action(description="Deactivate selected users (removes their access)")
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description="Reactivate selected users")
    def reactivate(self, request, queryset):
        self._set_active(request, queryset, True)

    def _set_active(self, request, queryset, active: bool) -> None:
        changed = 0
        with transaction.atomic():
            for user in queryset.filter(deleted_at__isnull=True).select_for_update():
                loaded = services.LoadedUser.of(user)
                if user.set_active(active):
                    services.user_save(user=user, emails=None, loaded=loaded)
                    changed += 1
        self.message_user(request, f"{changed} user(s) changed.", messages.SUCCESS)


class GroupMembershipInline(admin.TabularInline):
    model = GroupMembership
    extra = 0
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at",)

# Above this many members the group page links to the membership list instead of inlining it.
MEMBERSHIP_INLINE_LIMIT = 500


@admin.register(Group)
class GroupAdmin(ExactIdSearch, BigTableAdmin):
    list_display = (
        "display_name",
        "account",
        "source",
        "member_count",
        "agent_count",
        "created_at",
        "last_modified_at",
    )
    list_select_related = ("account",)
    list_filter = ("source", "account")
    search_fields = ("display_name", "external_id")
    readonly_fields = ("scim_id", "created_at", "last_modified_at")
    raw_id_fields = ("account", "provisioned_by")
    show_full_result_count = False

    def get_inlines(self, request, obj=None):
        if obj is not None and obj.memberships.count() > MEMBERSHIP_INLINE_LIMIT:
            return []
        return [GroupMembershipInline]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "membership_url": reverse("admin:directory_groupmembership_changelist")
            + f"?group__id__exact={object_id}",
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request):
        return super().get_queryset(request).with_member_counts()

    @admin.display(
        description="Agents counted",
        ordering=GroupQuerySet.agent_total_order(),
    )
    def agent_count(self, group: Group) -> int:
        return group.agent_total

    @admin.display(description="Members (users)", ordering="user_total")
    def member_count(self, group: Group) -> int:
        return group.user_total


@admin.register(GroupMembership)
class GroupMembershipAdmin(BigTableAdmin):
    list_display = ("group", "user", "display", "created_at")
    list_select_related = ("group", "user")
    search_fields = ("group__display_name", "user__user_name")
    autocomplete_fields = ("group", "user")


class AgentUserFilter(admin.SimpleListFilter):
    title = "assignment"
    parameter_name = "assignment"

    def lookups(self, request, model_admin):
        return [
            ("unassigned", "Unassigned"),
            ("manual", "Assigned by hand"),
            ("merged", "Merged into another agent"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "unassigned":
            return queryset.filter(user__isnull=True)
        if self.value() == "manual":
            return queryset.filter(is_manually_assigned=True)
        if self.value() == "merged":
            return queryset.filter(merged_into__isnull=False)
        return queryset


@admin.register(Agent)
class AgentAdmin(ExactIdSearch, BigTableAdmin):
    list_display = (
        "logon_name",
        "machine_name",
        "account",
        "user",
        "status",
        "is_uninstall_required",
        "merged_into",
        "last_seen_at",
    )
    list_select_related = ("account", "user", "merged_into")
    list_filter = (AgentUserFilter, "is_uninstall_required", "is_manually_assigned")
    search_fields = ("logon_name", "machine_name", "user__user_name")
    exact_id_field = "public_id"
    raw_id_fields = ("account", "merged_into")
    autocomplete_fields = ("user",)
    readonly_fields = ("public_id", "first_seen_at", "last_seen_at", "logon_user", "logon_domain")
    actions = ["merge", "unmerge", "assign_to_user"]

    @admin.action(description="Merge selected agents into the first seen one")
    def merge(self, request, queryset):
        agents = list(queryset.order_by("first_seen_at", "id"))
        if len(agents) < 2:
            self.message_user(request, "Select at least two agents to merge.", messages.WARNING)
            return None
        confirmed = request.POST.get("confirm_across_users") == "yes"
        try:
            merged = agent_services.agents_merge(
                primary=agents[0], others=agents[1:], across_users=confirmed
            )
        except DirectoryError as exc:
            if exc.kind is not ErrorKind.NEEDS_CONFIRMATION:
                self.message_user(request, exc.detail, messages.ERROR)
                return None
            return TemplateResponse(
                request,
                "admin/directory/agent/confirm_merge.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Merge agents of different users?",
                    "agents": agents,
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        self.message_user(
            request, f"{merged} agent(s) merged into {agents[0]}.", messages.SUCCESS
        )
        return None

    @admin.action(description="Unmerge selected agents")
    def unmerge(self, request, queryset):
        count = 0
        for agent in queryset.filter(merged_into__isnull=False):
            agent_services.agent_unmerge(agent=agent)
            count += 1
        self.message_user(request, f"{count} agent(s) unmerged.", messages.SUCCESS)

    @admin.action(description="Assign selected agents to a user…")
    def assign_to_user(self, request, queryset):
        user_name = (request.POST.get("user_name") or "").strip()
        agents = list(queryset)
        accounts = {agent.account_id for agent in agents}
        error = ""
        if user_name:
            try:
                # The Agents page's rule (no NUL, within the column) before the name is looked up.
                AgentAssignForm.base_fields["user_name"].clean(user_name)
            except ValidationError as exc:
                error, user_name = exc.messages[0], ""
        if user_name:
            if len(accounts) != 1:
                error = "Select agents of one account."
            else:
                user = (
                    DirectoryUser.objects.filter(account_id=accounts.pop(), deleted_at__isnull=True)
                    .filter(user_name__uexact=user_name)
                    .first()
                )
                if user is None:
                    error = f"No user named {user_name!r} in that account."
                else:
                    for agent in agents:
                        agent_services.agent_assign(agent=agent, user=user)
                    self.message_user(
                        request, f"{len(agents)} agent(s) assigned to {user}.", messages.SUCCESS
                    )
                    return None
        return TemplateResponse(
            request,
            "admin/directory/agent/assign.html",
            {
                **self.admin_site.each_context(request),
                "title": "Assign agents to a user",
                "agents": agents,
                "error": error,
                "user_name": user_name,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )
