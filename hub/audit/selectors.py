from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from hub.accounts.constants import Role
from hub.audit.models import AuditEvent


def audit_events_visible_to(user) -> QuerySet[AuditEvent]:
    """Superusers see the whole trail; a site administrator sees what touched or was done by their site."""
    if user.is_superuser:
        return AuditEvent.objects.all()
    if user.role == Role.SITE_ADMIN and user.site_id:
        code = user.site.code
        return AuditEvent.objects.filter(Q(owner=code) | Q(actor_site=code))
    return AuditEvent.objects.none()


def audit_event_list(
    *,
    user,
    patient: str = "",
    actor_id: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    success: bool | None = None,
) -> QuerySet[AuditEvent]:
    events = audit_events_visible_to(user)
    if patient:
        events = events.filter(patient=patient)
    if actor_id:
        events = events.filter(actor_id=actor_id)
    if since:
        events = events.filter(recorded_at__gte=since)
    if until:
        events = events.filter(recorded_at__lt=until)
    if success is not None:
        events = events.filter(success=success)
    return events.order_by("-recorded_at", "-id")
