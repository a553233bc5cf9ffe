"""SLA escalation: a request not accepted in time goes to the on-call backup, then the department head; an
accepted request without a signed opinion in time is escalated up the same ladder (they are told, the
responsible specialist keeps it)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.referrals.constants import TERMINAL_STATUSES, UNACCEPTED_STATUSES, RoutingRule, TaskStatus
from hub.referrals.models import DepartmentHead, Referral, SlaBreach
from hub.referrals.routing import RouteDecision, on_call_shift
from hub.referrals.services.common import referral_notify, requesting_side, routing_apply, transition_record
from hub.referrals.sla import opinion_target, sla_target


def _ladder(*, referral: Referral, now: datetime) -> list[tuple[object, str]]:
    """Who to escalate to, in order: the on-call backup, then the department head."""
    steps: list[tuple[object, str]] = []
    department = referral.target_department
    if department is None:
        return steps
    shift = on_call_shift(department=department, now=now)
    if shift is not None and shift.backup is not None and shift.backup.is_active:
        steps.append((shift.backup, _("on-call backup")))
    head = DepartmentHead.objects.select_related("head").filter(department=department).first()
    if head is not None and head.head.is_active:
        steps.append((head.head, _("department head")))
    return steps


def _next_step(*, referral: Referral, kind: str, now: datetime) -> tuple[list, object, str]:
    """The ladder's steps not yet escalated to for ``kind`` (the owner left out), and the next one (or None)."""
    already = set(referral.breaches.filter(kind=kind).exclude(escalated_to=None).values_list("escalated_to", flat=True))
    ladder = [
        (person, label)
        for person, label in _ladder(referral=referral, now=now)
        if person != referral.owner and person.pk not in already
    ]
    target, label = ladder[0] if ladder else (None, "")
    return ladder, target, label


def _each_due(queryset, *, due_field: str, escalate, now: datetime, limit: int) -> int:
    """Escalate the referrals of ``queryset`` due by ``now`` (oldest first); how many were escalated."""
    due = list(queryset.filter(**{f"{due_field}__lte": now}).order_by(due_field).values_list("pk", flat=True)[:limit])
    return sum(1 for pk in due if escalate(referral_id=pk, now=now) is not None)


def sla_escalate(*, referral_id: int, now: datetime | None = None) -> SlaBreach | None:
    """Escalate one overdue request (a no-op if it was accepted meanwhile or is not due); record the breach."""
    now = now or timezone.now()
    with transaction.atomic():
        referral = (
            Referral.objects.select_for_update(of=("self",), skip_locked=True, no_key=True)
            .select_related("requester", "requesting_site", "target_site", "target_department", "owner")
            .filter(pk=referral_id, status__in=UNACCEPTED_STATUSES, sla_due_at__lte=now)
            .first()
        )
        if referral is None:
            return None
        level = referral.escalation_level + 1
        ladder, target, label = _next_step(referral=referral, kind=SlaBreach.Kind.ACCEPT, now=now)
        due = referral.sla_due_at
        reason = (
            _("Not accepted by %(due)s; escalated to the %(label)s %(name)s.")
            % {"due": f"{timezone.localtime(due):%H:%M}", "label": label, "name": target}
            if target
            else _("Not accepted by %(due)s; nobody left to escalate to.") % {"due": f"{timezone.localtime(due):%H:%M}"}
        )
        breach = SlaBreach.objects.create(
            referral=referral,
            kind=SlaBreach.Kind.ACCEPT,
            level=level,
            due_at=due,
            detected_at=now,
            escalated_to=target,
            reason=reason,
        )
        referral.escalation_level = level
        _within, every = sla_target(urgency=referral.urgency, pathway=referral.pathway)
        referral.sla_due_at = now + every if len(ladder) > 1 else None
        before = referral.status
        if target is not None:
            referral.status = TaskStatus.REQUESTED
            routing_apply(
                referral=referral,
                decision=RouteDecision(RoutingRule.ESCALATION, referral.target_department, target, reason),
                now=now,
            )
        transition_record(
            referral=referral,
            action="escalate",
            actor=None,
            now=now,
            reason=reason,
            from_status=before,
            detail={"level": level, "to": target.pk if target else None},
        )
        recipients = [target, *requesting_side(referral)] if target else requesting_side(referral)
        referral_notify(
            referral=referral,
            event="referral.escalated",
            recipients=recipients,
            title=_("Request escalated"),
            body=reason,
        )
        return breach


def sla_escalate_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Escalate every overdue, unaccepted request; returns how many were escalated."""
    requests = Referral.objects.filter(status__in=UNACCEPTED_STATUSES)
    return _each_due(requests, due_field="sla_due_at", escalate=sla_escalate, now=now or timezone.now(), limit=limit)


def opinion_escalate(*, referral_id: int, now: datetime | None = None) -> SlaBreach | None:
    """Escalate one accepted request whose signed opinion is overdue (a no-op once it is signed, closed or not
    due): the next on the ladder is told, with the responsible specialist and the requesting side; the
    breach is recorded; it is due again after the policy's interval while someone is left to tell."""
    now = now or timezone.now()
    with transaction.atomic():
        referral = (
            Referral.objects.select_for_update(of=("self",), skip_locked=True, no_key=True)
            .select_related("requester", "requesting_site", "target_site", "target_department", "owner")
            .filter(pk=referral_id, accepted_at__isnull=False, opinion_due_at__lte=now)
            .exclude(status__in=TERMINAL_STATUSES)
            .first()
        )
        if referral is None:
            return None
        level = referral.breaches.filter(kind=SlaBreach.Kind.OPINION).count() + 1
        ladder, target, label = _next_step(referral=referral, kind=SlaBreach.Kind.OPINION, now=now)
        due = referral.opinion_due_at
        at = f"{timezone.localtime(due):%H:%M}"
        reason = (
            _("No signed opinion by %(due)s; escalated to the %(label)s %(name)s.")
            % {"due": at, "label": label, "name": target}
            if target
            else _("No signed opinion by %(due)s; nobody left to escalate to.") % {"due": at}
        )
        breach = SlaBreach.objects.create(
            referral=referral,
            kind=SlaBreach.Kind.OPINION,
            level=level,
            due_at=due,
            detected_at=now,
            escalated_to=target,
            reason=reason,
        )
        _within, every = opinion_target(urgency=referral.urgency, pathway=referral.pathway)
        referral.opinion_due_at = now + every if len(ladder) > 1 else None
        transition_record(
            referral=referral,
            action="escalate_opinion",
            actor=None,
            now=now,
            reason=reason,
            from_status=referral.status,
            detail={"level": level, "to": target.pk if target else None},
            mirror=False,  # nothing changes in the FHIR Task
        )
        responsible = [referral.owner] if referral.owner else []
        recipients = [*([target] if target else []), *responsible, *requesting_side(referral)]
        referral_notify(
            referral=referral,
            event="referral.opinion_overdue",
            recipients=recipients,
            title=_("Opinion overdue"),
            body=reason,
        )
        return breach


def opinion_escalate_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Escalate every accepted request whose signed opinion is overdue; returns how many were escalated."""
    accepted = Referral.objects.filter(accepted_at__isnull=False).exclude(status__in=TERMINAL_STATUSES)
    return _each_due(
        accepted, due_field="opinion_due_at", escalate=opinion_escalate, now=now or timezone.now(), limit=limit
    )
