from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from hub.access.actors import rule_of_user
from hub.audit.models import AuditEvent


def audit_events_visible_to(user) -> QuerySet[AuditEvent]:
    """As ``hub.access`` says (``Rule.audit_sites``): the platform operator and hub auditors the whole trail, a
    site administrator the events about their site's records and patients, anyone else nothing."""
    sites = rule_of_user(user).audit_sites()
    if sites is None:
        return AuditEvent.objects.all()
    return AuditEvent.objects.filter(owner__in=sites) if sites else AuditEvent.objects.none()


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
