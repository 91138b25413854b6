from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count

from directory import services
from directory.models import (
    Account,
    AccountMember,
    Agent,
    DirectoryUser,
    Group,
    GroupMembership,
    UserEmail,
)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "created_at")
    search_fields = ("slug", "name")
    ordering = ("slug",)


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
class DirectoryUserAdmin(admin.ModelAdmin):
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
    search_fields = ("user_name", "email", "display_name", "external_id", "=scim_id")
    readonly_fields = ("scim_id", "created_at", "last_modified_at", "deactivated_at", "deleted_at")
    raw_id_fields = ("account", "login")
    inlines = [UserEmailInline]
    show_full_result_count = False
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
                if user.set_active(active):
                    services.user_save(user=user, emails=None)
                    changed += 1
        self.message_user(request, f"{changed} user(s) changed.", messages.SUCCESS)


class GroupMembershipInline(admin.TabularInline):
    model = GroupMembership
    extra = 0
    raw_id_fields = ("user",)
    readonly_fields = ("created_at",)


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("display_name", "account", "source", "member_count", "created_at", "last_modified_at")
    list_select_related = ("account",)
    list_filter = ("source", "account")
    search_fields = ("display_name", "external_id", "=scim_id")
    readonly_fields = ("scim_id", "created_at", "last_modified_at")
    raw_id_fields = ("account",)
    inlines = [GroupMembershipInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("memberships"))

    @admin.display(description="Members", ordering="member_total")
    def member_count(self, group: Group) -> int:
        return group.member_total


@admin.register(GroupMembership)
class GroupMembershipAdmin(admin.ModelAdmin):
    list_display = ("group", "user", "created_at")
    list_select_related = ("group", "user")
    search_fields = ("group__display_name", "user__user_name")
    raw_id_fields = ("group", "user")
    show_full_result_count = False


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("logon_name", "machine_name", "account", "user", "last_seen_at")
    list_select_related = ("account", "user")
    list_filter = ("account",)
    search_fields = ("logon_name", "machine_name", "user__user_name")
    raw_id_fields = ("account", "user")
    show_full_result_count = False
