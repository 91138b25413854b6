from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from integrations import services
from integrations.models import AgentKey, ApiKey, IntegrationInstance, ProvisioningEvent


def show_keys_once(request, admin_site, title: str, rows: list[tuple[str, str]]):
    """A page that shows freshly issued keys once and is never cached."""
    response = TemplateResponse(
        request,
        "admin/integrations/new_keys.html",
        {**admin_site.each_context(request), "title": title, "rows": rows},
    )
    response["Cache-Control"] = "no-store"
    return response


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("masked", "created_at", "last_used_at", "revoked_at", "retires_at", "retired_at")
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
    actions = ["revoke_keys", "regenerate_keys"]

    @admin.action(description="Revoke the keys of selected instances")
    def revoke_keys(self, request, queryset):
        revoked = sum(
            services.api_key_revoke(instance=instance, revoked_by=request.user) for instance in queryset
        )
        self.message_user(request, f"{revoked} key(s) revoked.", messages.SUCCESS)

    @admin.action(description="Regenerate the keys of selected instances (old keys stop working)")
    def regenerate_keys(self, request, queryset):
        rows = [
            (str(instance), services.api_key_regenerate(instance=instance, created_by=request.user))
            for instance in queryset.filter(deleted_at__isnull=True).select_related("account")
        ]
        return show_keys_once(request, self.admin_site, "New SCIM keys", rows)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("masked", "instance", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("instance", "instance__account")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("lookup", "instance__name", "instance__account__slug")
    fields = (
        "masked",
        "instance",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
        "replaces",
        "retires_at",
        "retired_at",
    )
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


@admin.register(AgentKey)
class AgentKeyAdmin(admin.ModelAdmin):
    list_display = ("masked", "account", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("account",)
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("lookup", "account__slug")
    fields = ("masked", "account", "created_by", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ["regenerate"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Regenerate the agent key of these accounts (old key stops working)")
    def regenerate(self, request, queryset):
        accounts = {key.account for key in queryset.select_related("account")}
        rows = [
            (str(account), services.agent_key_regenerate(account=account, created_by=request.user))
            for account in accounts
        ]
        return show_keys_once(request, self.admin_site, "New agent deployment keys", rows)
