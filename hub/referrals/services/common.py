"""Shared steps of every workflow service: locking, legal transitions, the FHIR mirror, routing, telling people."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from hub.access.referrals import recipients_entitled
from hub.api_errors import ConflictError, NotFoundError
from hub.notifications.events import notify_on_commit
from hub.referrals.constants import TERMINAL_STATUSES, ParticipantRole, TaskStatus
from hub.referrals.fhir.resources import REQUEST_STATUS, service_request_build, task_build
from hub.referrals.fhir.store import fhir_update
from hub.referrals.models import Participant, Referral, RoutingDecision, Transition
from hub.referrals.routing import RouteDecision, team_members

S = TaskStatus
# action -> (statuses it may start from, status it leads to; None: unchanged)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "submit": (frozenset({S.DRAFT}), S.REQUESTED),
    "receive": (frozenset({S.REQUESTED}), S.RECEIVED),
    "accept": (frozenset({S.REQUESTED, S.RECEIVED}), S.ACCEPTED),
    "decline": (frozenset({S.REQUESTED, S.RECEIVED}), None),
    "reject": (frozenset({S.REQUESTED, S.RECEIVED}), S.REJECTED),
    "forward": (frozenset({S.REQUESTED, S.RECEIVED, S.ACCEPTED}), S.REQUESTED),
    "escalate": (frozenset({S.REQUESTED, S.RECEIVED}), S.REQUESTED),
    "request_info": (frozenset({S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS}), None),
    "provide_info": (frozenset({S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS}), None),
    "invite": (frozenset({S.REQUESTED, S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD}), None),
    "schedule": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.IN_PROGRESS),
    "start": (frozenset({S.ACCEPTED}), S.IN_PROGRESS),
    "hold": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.ON_HOLD),
    "resume": (frozenset({S.ON_HOLD}), S.IN_PROGRESS),
    "complete": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.COMPLETED),
    "fail": (frozenset({S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD}), S.FAILED),
    "cancel": (
        frozenset({S.DRAFT, S.REQUESTED, S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD}),
        S.CANCELLED,
    ),
}
# The actions as the illegal-transition message names them ("Cannot accept a request that is completed.").
ACTION_NAMES = {
    "submit": pgettext_lazy("workflow action", "submit"),
    "receive": pgettext_lazy("workflow action", "receive"),
    "accept": pgettext_lazy("workflow action", "accept"),
    "decline": pgettext_lazy("workflow action", "decline"),
    "reject": pgettext_lazy("workflow action", "reject"),
    "forward": pgettext_lazy("workflow action", "forward"),
    "escalate": pgettext_lazy("workflow action", "escalate"),
    "request_info": pgettext_lazy("workflow action", "ask for information on"),
    "provide_info": pgettext_lazy("workflow action", "add information to"),
    "invite": pgettext_lazy("workflow action", "invite experts to"),
    "schedule": pgettext_lazy("workflow action", "schedule"),
    "start": pgettext_lazy("workflow action", "start"),
    "hold": pgettext_lazy("workflow action", "put on hold"),
    "resume": pgettext_lazy("workflow action", "resume"),
    "complete": pgettext_lazy("workflow action", "complete"),
    "fail": pgettext_lazy("workflow action", "mark as failed"),
    "cancel": pgettext_lazy("workflow action", "cancel"),
}


def referral_lock(*, referral_id: int) -> Referral:
    """The request's row, locked until the transaction ends: concurrent actions on it run one at a time.

    The lock is taken first and the row read after it: a statement that waited for the lock would otherwise
    see the request's new owner without the joined row (a lost race told "None has already accepted").

    ``FOR NO KEY UPDATE``, as every lock on a request or a room: actions still run one at a time, but a row
    that only refers to the request (a room changed twice in one transaction is checked again at its commit)
    does not wait for it; with ``FOR UPDATE`` that check deadlocked a room's writer with a decision.
    """
    if not Referral.objects.select_for_update(no_key=True).filter(pk=referral_id).values_list("pk", flat=True):
        raise NotFoundError(_("No such referral."))
    referral = (
        Referral.objects.select_related(
            "requester", "requesting_site", "target_site", "target_department", "owner", "named_expert"
        )
        .filter(pk=referral_id)
        .first()
    )
    if referral is None:
        raise NotFoundError(_("No such referral."))
    return referral


def transition_check(*, referral: Referral, action: str) -> str:
    allowed, to_status = TRANSITIONS[action]
    if referral.status not in allowed:
        raise ConflictError(
            _("Cannot %(action)s a request that is %(status)s.")
            % {"action": ACTION_NAMES.get(action, action), "status": referral.get_status_display().lower()},
            code="illegal_transition",
        )
    return to_status or referral.status


def transition_record(
    *,
    referral: Referral,
    action: str,
    actor,
    now: datetime,
    reason: str = "",
    detail: dict | None = None,
    from_status: str | None = None,
    outputs: list[str] | None = None,
    mirror: bool = True,
) -> Transition:
    """Save the request, log the step and mirror it to the FHIR Task (and ServiceRequest when it changes)."""
    before = from_status or referral.status
    if referral.status in TERMINAL_STATUSES and referral.closed_at is None:
        referral.closed_at = now
    referral.save()
    step = Transition.objects.create(
        referral=referral,
        action=action,
        from_status=before,
        to_status=referral.status,
        business_status=referral.business_status,
        actor=actor,
        at=now,
        reason=reason,
        detail=detail or {},
    )
    if not mirror:
        return step
    task_mirror(
        referral=referral,
        reason=reason,
        request_changed=REQUEST_STATUS.get(before, "active") != REQUEST_STATUS.get(referral.status, "active"),
        outputs=outputs,
    )
    return step


def task_mirror(*, referral: Referral, reason: str = "", request_changed: bool = False, outputs=None) -> None:
    owner = referral.requesting_site.code
    if outputs is None and referral.status in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED):
        outputs = [f"Composition/{cid}" for cid in referral.opinions.values_list("composition_id", flat=True) if cid]
    fhir_update(resource=task_build(referral, reason=reason, outputs=outputs), owner=owner)
    if request_changed:
        fhir_update(resource=service_request_build(referral), owner=owner)


def participant_add(*, referral: Referral, user, role: str, added_by, now: datetime) -> Participant:
    """Add (or reactivate) a participant; callers hold the request's row lock, so no two add the same person."""
    participant = Participant.objects.filter(referral=referral, user=user).first()
    if participant is None:
        return Participant.objects.create(referral=referral, user=user, role=role, added_by=added_by, added_at=now)
    if not participant.active or participant.role != role:
        if participant.role != ParticipantRole.REQUESTER:
            participant.role = role
        participant.active = True
        participant.save(update_fields=["role", "active"])
    return participant


def routing_point(*, referral: Referral, decision: RouteDecision) -> None:
    """Point the request at the decision's team and person (not saved)."""
    referral.target_department = decision.department
    referral.owner = decision.assignee


def routing_apply(*, referral: Referral, decision: RouteDecision, now: datetime, actor=None) -> RoutingDecision:
    """Point the request at the decision's team and person, record why, and tell them."""
    previous_owner = referral.owner
    routing_point(referral=referral, decision=decision)
    if previous_owner is not None and previous_owner != decision.assignee:
        referral.participants.filter(user=previous_owner, role=ParticipantRole.OWNER).update(active=False)
    if decision.assignee is not None:
        participant_add(referral=referral, user=decision.assignee, role=ParticipantRole.OWNER, added_by=actor, now=now)
    return routing_record(referral=referral, decision=decision, now=now)


def routing_record(*, referral: Referral, decision: RouteDecision, now: datetime) -> RoutingDecision:
    """Record why the request went where it went and tell the people it went to (participants added by the caller)."""
    row = RoutingDecision.objects.create(
        referral=referral,
        rule=decision.rule,
        department=decision.department,
        assignee=decision.assignee,
        reason=decision.reason,
        at=now,
    )
    recipients = (
        [decision.assignee]
        if decision.assignee
        else list(team_members(referral=referral, department=decision.department))
    )
    referral_notify(
        referral=referral,
        event="referral.routed",
        recipients=recipients,
        title=_("New %(urgency)s request: %(kind)s")
        % {
            "urgency": referral.get_urgency_display(),
            "kind": referral.get_kind_display(),
        },
        body=decision.reason,
    )
    return row


def referral_payload(referral: Referral) -> dict:
    from hub.consultations.selectors import room_link  # the request's open consultation room, if any

    return {
        **room_link(referral_id=referral.pk),
        "referral": {
            "id": referral.pk,
            "uid": str(referral.uid),
            "kind": referral.kind,
            "urgency": referral.urgency,
            "pathway": referral.pathway,
            "status": referral.status,
            "business_status": referral.business_status,
            "patient": referral.patient_display,
            "requesting_site": referral.requesting_site.name,
            "owner": str(referral.owner) if referral.owner_id else None,
        },
    }


def referral_notify(*, referral: Referral, event: str, recipients, title: str, body: str = "") -> None:
    """Tell ``recipients`` about the request: only those who may see it (a notification names the patient)."""
    entitled = recipients_entitled(referral, recipients)
    notify_on_commit(event=event, recipients=entitled, title=title, body=body, payload=referral_payload(referral))


def requesting_side(referral: Referral) -> list:
    """The requester and the county participants: who hears about progress."""
    people = [referral.requester]
    people += [
        p.user
        for p in referral.participants.select_related("user").filter(
            active=True, role__in=[ParticipantRole.COUNTY, ParticipantRole.REQUESTER]
        )
    ]
    return people
