from django.contrib import admin

from hub.audit.models import AuditEvent
from hub.audit.selectors import audit_events_visible_to


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
        # What hub.access lets the user read of the trail (as /fhir/AuditEvent and /api/audit/events answer).
        return audit_events_visible_to(request.user)
