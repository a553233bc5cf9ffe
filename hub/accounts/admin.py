from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import ApiToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "role", "site", "department", "is_active"]
    list_filter = ["role", "site", "is_active"]
    search_fields = ["username", "display_name", "email", "phone"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Alliance"), {"fields": ("display_name", "phone", "site", "department", "role")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "expires_at", "revoked"]
    list_filter = ["revoked"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    search_fields = ["user__username", "name", "prefix"]

    def has_add_permission(self, request) -> bool:
        return False  # tokens are shown once, so they are created with `manage.py api_token`
