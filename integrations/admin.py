from __future__ import annotations

from django.contrib import admin, messages

from integrations import services
from integrations.models import ApiKey, IntegrationInstance, ProvisioningEvent


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("masked", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IntegrationInstance)
class IntegrationInstanceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "account", "created_by", "created_at", "deleted_at")
    list_select_related = ("account", "created_by")
    list_filter = ("kind", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "account__slug", "account__name")
    readonly_fields = ("created_at", "deleted_at")
    raw_id_fields = ("account", "created_by")
    inlines = [ApiKeyInline]
    actions = ["revoke_keys"]

    @admin.action(description="Revoke the keys of selected instances")
    def revoke_keys(self, request, queryset):
        revoked = sum(services.api_key_revoke(instance=instance) for instance in queryset)
        self.message_user(request, f"{revoked} key(s) revoked.", messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("masked", "instance", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("instance", "instance__account")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("lookup", "instance__name", "instance__account__slug")
    fields = ("masked", "instance", "created_by", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ProvisioningEvent)
class ProvisioningEventAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "account",
        "instance",
        "action",
        "target_display",
        "outcome",
        "status_code",
    )
    list_select_related = ("account", "instance")
    list_filter = ("outcome", "action", "status_code")
    search_fields = ("target_id", "target_display", "detail", "account__slug")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
