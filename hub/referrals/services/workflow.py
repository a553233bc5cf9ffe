"""The specialist's and the requester's actions on a request, each a legal FHIR Task transition."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.accounts.constants import Role
from hub.api_errors import ConflictError, DomainError
from hub.referrals.constants import BusinessStatus, ParticipantRole, RoutingRule, TaskStatus, TimeNode
from hub.referrals.fhir.resources import service_request_build
from hub.referrals.fhir.store import fhir_update
from hub.referrals.models import Referral, Transition
from hub.referrals.patients import attachments_check
from hub.referrals.permissions import check_fulfiller, check_owner, check_requesting_side
from hub.referrals.routing import RouteDecision, route_decide
from hub.referrals.services.common import (
    participant_add,
    referral_lock,
    referral_notify,
    requesting_side,
    routing_apply,
    transition_check,
    transition_record,
)
from hub.referrals.services.time_nodes import time_node_put
from hub.referrals.sla import opinion_target


def reason_required(reason: str) -> str:
    if not (reason or "").strip():
        raise DomainError(_("Give a reason."), code="reason_required")
    return reason.strip()


@transaction.atomic
def task_receive(*, referral_id: int, actor, now: datetime | None = None) -> Referral:
    """The routed team acknowledges that it has seen the request."""
    now = now or timezone.now()
    referral = referral_lock(referral_id=referral_id)
    check_fulfiller(actor, referral)
    before = referral.status
    referral.status = transition_check(referral=referral, action="receive")
    transition_record(referral=referral, action="receive", actor=actor, now=now, from_status=before)
    return referral


@transaction.atomic
def task_accept(*, referral_id: int, actor, now: datetime | None = None) -> Referral:
    """Take the request. Of two people accepting at once, the row lock lets exactly one win; the other gets 409."""
    now = now or timezone.now()
    referral = referral_lock(referral_id=referral_id)
    check_fulfiller(actor, referral)
    if referral.status == TaskStatus.ACCEPTED or referral.accepted_at is not None:
        raise ConflictError(
            _("%(name)s has already accepted this request.") % {"name": referral.owner}, code="already_accepted"
        )
    before = referral.status
    referral.status = transition_check(referral=referral, action="accept")
    if referral.owner_id != actor.pk:  # a colleague of the routed team takes it
        if referral.owner_id:
            referral.participants.filter(user=referral.owner, role=ParticipantRole.OWNER).update(active=False)
        referral.owner = actor
        participant_add(referral=referral, user=actor, role=ParticipantRole.OWNER, added_by=actor, now=now)
    referral.accepted_at = now
    referral.sla_due_at = None
    referral.opinion_due_at = now + opinion_target(urgency=referral.urgency, pathway=referral.pathway)[0]
    if referral.pathway in ("chest_pain", "stroke"):
        time_node_put(referral=referral, node=TimeNode.EXPERT_JOINED, at=now, actor=actor, now=now, keep=True)
    transition_record(referral=referral, action="accept", actor=actor, now=now, from_status=before)
    referral_notify(
        referral=referral,
        event="referral.accepted",
        recipients=requesting_side(referral),
        title=_("Request accepted"),
        body=_("%(name)s accepted the request for %(patient)s.") % {"name": actor, "patient": referral.patient_display},
    )
    return referral


def _declined_by(referral: Referral) -> set[int]:
    return set(
        Transition.objects.filter(referral=referral, action__in=["decline", "forward"]).values_list("actor", flat=True)
    ) - {None}


@transaction.atomic
def task_decline(*, referral_id: int, actor, reason: str, now: datetime | None = None) -> Referral:
    """Decline with a reason; the request is routed onward, or rejected when nobody is left."""
    now = now or timezone.now()
    reason = reason_required(reason)
    referral = referral_lock(referral_id=referral_id)
    check_fulfiller(actor, referral)
    before = referral.status
    transition_check(referral=referral, action="decline")
    excluded = _declined_by(referral) | {actor.pk}
    decision = route_decide(referral=referral, now=now, exclude=excluded)
    if decision is None:
        referral.status = transition_check(referral=referral, action="reject")
        referral.owner = None
        transition_record(referral=referral, action="reject", actor=actor, now=now, reason=reason, from_status=before)
        referral_notify(
            referral=referral,
            event="referral.rejected",
            recipients=requesting_side(referral),
            title=_("Request declined"),
            body=reason,
        )
        return referral
    referral.status = TaskStatus.REQUESTED
    routing_apply(referral=referral, decision=decision, now=now, actor=actor)
    transition_record(
        referral=referral,
        action="decline",
        actor=actor,
        now=now,
        reason=reason,
        from_status=before,
        detail={"routed_to": decision.assignee.pk if decision.assignee else None, "rule": decision.rule},
    )
    return referral


@transaction.atomic
def task_forward(*, referral_id: int, actor, to_user, reason: str = "", now: datetime | None = None) -> Referral:
    """Hand the request to a colleague at the same hospital, who then accepts it (or not)."""
    now = now or timezone.now()
    referral = referral_lock(referral_id=referral_id)
    check_fulfiller(actor, referral)
    if referral.accepted_at is not None and referral.owner_id != actor.pk:
        raise DomainError(
            _("Only the specialist responsible for the request may forward it."), code="forbidden", status_code=403
        )
    if (
        to_user.pk == actor.pk
        or to_user.site_id != referral.target_site_id
        or not to_user.is_active
        or (to_user.role not in (Role.SPECIALIST, Role.COUNTY_DOCTOR))
    ):
        raise DomainError(
            _("Forward to an active colleague at %(site)s.") % {"site": referral.target_site.name},
            code="invalid_colleague",
        )
    before = referral.status
    referral.status = transition_check(referral=referral, action="forward")
    referral.accepted_at = None
    referral.opinion_due_at = None
    decision = RouteDecision(
        RoutingRule.FORWARD,
        to_user.department,
        to_user,
        _("%(from)s forwarded the request to %(to)s: %(reason)s")
        % {"from": actor, "to": to_user, "reason": reason or "-"},
    )
    routing_apply(referral=referral, decision=decision, now=now, actor=actor)
    transition_record(
        referral=referral,
        action="forward",
        actor=actor,
        now=now,
        reason=reason,
        from_status=before,
        detail={"to": to_user.pk},
    )
    return referral


@transaction.atomic
def task_request_info(*, referral_id: int, actor, question: str, now: datetime | None = None) -> Referral:
    """Ask the requester for more (businessStatus awaiting-information)."""
    now = now or timezone.now()
    question = reason_required(question)
    referral = referral_lock(referral_id=referral_id)
    check_fulfiller(actor, referral)
    transition_check(referral=referral, action="request_info")
    referral.business_status = BusinessStatus.AWAITING_INFORMATION
    transition_record(referral=referral, action="request_info", actor=actor, now=now, reason=question)
    referral_notify(
        referral=referral,
        event="referral.info_requested",
        recipients=requesting_side(referral),
        title=_("More information requested"),
        body=question,
    )
    return referral


@transaction.atomic
def referral_info_provide(
    *,
    referral_id: int,
    actor,
    note: str = "",
    attachments: list[str] | tuple[str, ...] = (),
    now: datetime | None = None,
) -> Referral:
    """The requesting side answers by adding records (and a note)."""
    now = now or timezone.now()
    referral = referral_lock(referral_id=referral_id)
    check_requesting_side(actor, referral)
    transition_check(referral=referral, action="provide_info")
    if not attachments and not note.strip():
        raise DomainError(_("Add records or a note."), code="invalid")
    added = attachments_check(
        site_code=referral.requesting_site.code, patient_ref=referral.patient_ref, references=list(attachments)
    )
    referral.attachments = [*referral.attachments, *[ref for ref in added if ref not in referral.attachments]]
    referral.business_status = BusinessStatus.NONE
    fhir_update(resource=service_request_build(referral), owner=referral.requesting_site.code)
    transition_record(
        referral=referral,
        action="provide_info",
        actor=actor,
        now=now,
        reason=note.strip(),
        detail={"attachments": added},
    )
    recipients = [referral.owner] if referral.owner_id else []
    referral_notify(
        referral=referral,
        event="referral.info_provided",
        recipients=recipients,
        title=_("Information added"),
        body=note.strip(),
    )
    return referral


@transaction.atomic
def task_invite(*, referral_id: int, actor, invitees: list, now: datetime | None = None) -> Referral:
    """Invite more experts, or county doctors, to take part (1:N and N:N consultations)."""
    now = now or timezone.now()
    referral = referral_lock(referral_id=referral_id)
    check_owner(actor, referral)
    transition_check(referral=referral, action="invite")
    if not invitees:
        raise DomainError(_("Invite at least one person."), code="invalid")
    for person in invitees:
        if not person.is_active or person.role not in (Role.SPECIALIST, Role.COUNTY_DOCTOR):
            raise DomainError(_("%(name)s cannot take part in a consultation.") % {"name": person}, code="invalid")
        role = ParticipantRole.EXPERT if person.role == Role.SPECIALIST else ParticipantRole.COUNTY
        participant_add(referral=referral, user=person, role=role, added_by=actor, now=now)
    transition_record(
        referral=referral, action="invite", actor=actor, now=now, detail={"invited": [p.pk for p in invitees]}
    )
    referral_notify(
        referral=referral,
        event="referral.invited",
        recipients=invitees,
        title=_("You are invited to a consultation"),
        body=_("%(name)s invites you: %(question)s") % {"name": actor, "question": referral.clinical_question[:200]},
    )
    return referral
