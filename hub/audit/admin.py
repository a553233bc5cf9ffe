from django.contrib import admin

from hub.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is append-only."""

    list_display = [
        "recorded_at",
        "actor_display",
        "actor_site",
        "action",
        "resource_type",
        "fhir_id",
        "patient",
        "status",
    ]
    list_filter = ["action", "success", "actor_kind", "actor_site", "resource_type"]
    search_fields = ["actor_id", "actor_display", "fhir_id", "patient"]
    date_hierarchy = "recorded_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser or not getattr(request.user, "site_id", None):
            return queryset
        return queryset.filter(owner=request.user.site.code) | queryset.filter(actor_site=request.user.site.code)
