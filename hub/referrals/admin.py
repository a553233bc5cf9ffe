"""Admin: the on-call roster, department heads, SLA policies and every request's record."""

from django.contrib import admin

from hub.referrals.models import (
    Appointment,
    DepartmentHead,
    OnCallShift,
    Opinion,
    Participant,
    Referral,
    RoutingDecision,
    SlaBreach,
    SlaPolicy,
    TimeNodeRecord,
    Transition,
)


@admin.register(OnCallShift)
class OnCallShiftAdmin(admin.ModelAdmin):
    list_display = ["department", "starts_at", "ends_at", "primary", "backup"]
    list_filter = ["department"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["primary", "backup"]


@admin.register(DepartmentHead)
class DepartmentHeadAdmin(admin.ModelAdmin):
    list_display = ["department", "head"]
    autocomplete_fields = ["head"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["urgency", "pathway", "accept_within_minutes", "escalate_every_minutes"]
    list_filter = ["urgency", "pathway"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ParticipantInline(ReadOnlyInline):
    model = Participant


class TransitionInline(ReadOnlyInline):
    model = Transition


class RoutingDecisionInline(ReadOnlyInline):
    model = RoutingDecision


class TimeNodeInline(ReadOnlyInline):
    model = TimeNodeRecord


class BreachInline(ReadOnlyInline):
    model = SlaBreach
    fk_name = "referral"


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    """The workflow is changed through the services (API), not here: the admin shows the record."""

    list_display = [
        "pk",
        "kind",
        "urgency",
        "pathway",
        "status",
        "business_status",
        "requesting_site",
        "owner",
        "created_at",
        "sla_due_at",
        "escalation_level",
    ]
    list_filter = ["status", "kind", "urgency", "pathway", "requesting_site"]
    search_fields = ["patient_display", "patient_ref", "clinical_question", "uid"]
    inlines = [ParticipantInline, RoutingDecisionInline, TransitionInline, TimeNodeInline, BreachInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Opinion)
class OpinionAdmin(admin.ModelAdmin):
    """Signed opinions are immutable; only their delivery can be watched here."""

    list_display = ["title", "referral", "author", "signed_at", "delivery_status", "delivery_attempts"]
    list_filter = ["delivery_status"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["referral", "starts_at", "ends_at", "scheduled_by"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SlaBreach)
class SlaBreachAdmin(admin.ModelAdmin):
    list_display = ["referral", "level", "due_at", "detected_at", "escalated_to"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False
