"""Creating and submitting a request: the patient, the consent, the FHIR ServiceRequest and Task, routing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from federation.sites.constants import SiteKind
from federation.sites.models import Site
from hub.accounts.constants import Role
from hub.api_errors import DomainError, ForbiddenError
from hub.referrals.caches import general_sites
from hub.referrals.constants import (
    TIME_CRITICAL_PATHWAYS,
    ConsentState,
    ParticipantRole,
    Pathway,
    ReferralKind,
    TaskStatus,
    TimeNode,
    Urgency,
)
from hub.referrals.fhir.resources import consent_build, discharge_summary_build, service_request_build, task_build
from hub.referrals.fhir.store import fhir_create_together
from hub.referrals.models import Participant, Referral, RoutingDecision, Transition
from hub.referrals.patients import attachments_check, patient_resolve
from hub.referrals.permissions import check_requester
from hub.referrals.routing import RouteDecision, route_decide
from hub.referrals.selectors import resource_refs_shared_with, user_by_username
from hub.referrals.services.common import (
    referral_lock,
    routing_apply,
    routing_point,
    routing_record,
    transition_check,
    transition_record,
)
from hub.referrals.services.time_nodes import time_node_check, time_node_put, time_nodes_add
from hub.referrals.sla import sla_target


@dataclass(frozen=True)
class ConsentGiven:
    """The patient's (or family's) consent to share the record with the specialists."""

    method: str = "written"  # written | verbal | electronic
    given_by: str = "patient"  # patient | family
    given_at: datetime | None = None


def _target_site(*, requester, kind: str, target_site: Site | None) -> Site:
    if kind == ReferralKind.DOWN:
        if target_site is None or target_site.kind != SiteKind.COUNTY:
            raise DomainError(_("A down-referral names the county hospital it goes to."), code="invalid_target")
        return target_site
    if target_site is not None:
        if target_site.kind != SiteKind.GENERAL:
            raise DomainError(_("Requests go up to a general hospital."), code="invalid_target")
        return target_site
    parent = requester.site.parent_id
    general = general_sites.get(
        parent, lambda: Site.objects.filter(kind=SiteKind.GENERAL, active=True, parent=parent).first()
    )
    if general is None:
        raise DomainError(_("The alliance has no general hospital to send the request to."), code="invalid_target")
    return general


def referral_create_check(
    *,
    requester,
    kind: str,
    urgency: str,
    pathway: str,
    study_kind: str,
    named_expert,
    target_site: Site,
    discharge_summary: str,
) -> None:
    going_down = kind == ReferralKind.DOWN
    if requester.role != (Role.SPECIALIST if going_down else Role.COUNTY_DOCTOR) or requester.site_id is None:
        raise ForbiddenError(_("Down-referrals are made by specialists, other requests by county doctors."))
    if kind == ReferralKind.DIAGNOSIS and not study_kind:
        raise DomainError(_("A remote diagnosis names the study to read (ECG, imaging, ultrasound)."), code="invalid")
    if going_down and not discharge_summary.strip():
        raise DomainError(_("A down-referral carries a discharge summary."), code="discharge_summary_required")
    if named_expert is not None and (named_expert.site_id != target_site.pk or not named_expert.is_active):
        raise DomainError(_("The named expert does not work at the target hospital."), code="invalid_expert")
    if pathway != Pathway.OTHER and urgency == Urgency.ROUTINE and pathway in TIME_CRITICAL_PATHWAYS:
        raise DomainError(_("Chest-pain and stroke requests are urgent or emergencies."), code="invalid")


def referral_request(*, requester, target_site_code: str = "", named_expert_username: str = "", **fields) -> Referral:
    """``referral_create`` for what the web form and the API name by code: the target hospital by its site
    code and the named expert by username (``DomainError`` for one that is unknown or inactive)."""
    target_site = None
    if target_site_code:
        target_site = Site.objects.filter(code=target_site_code, active=True).first()
        if target_site is None:
            raise DomainError(_("Unknown site: %(code)s") % {"code": target_site_code}, code="invalid_target")
    named_expert = user_by_username(named_expert_username) if named_expert_username else None
    return referral_create(requester=requester, target_site=target_site, named_expert=named_expert, **fields)


@transaction.atomic
def referral_create(
    *,
    requester,
    kind: str,
    urgency: str,
    patient_ref: str,
    clinical_question: str,
    reason: str = "",
    pathway: str = Pathway.OTHER,
    study_kind: str = "",
    target_specialty: str = "",
    target_site: Site | None = None,
    named_expert=None,
    attachments: list[str] | tuple[str, ...] = (),
    consent: ConsentGiven | None = None,
    discharge_summary: str = "",
    time_nodes: dict[str, datetime] | None = None,
    submit: bool = True,
    now: datetime | None = None,
) -> Referral:
    """Create a request (a FHIR ServiceRequest, Task and Consent) and, unless a draft, submit and route it."""
    now = now or timezone.now()
    site = _target_site(requester=requester, kind=kind, target_site=target_site)
    referral_create_check(
        requester=requester,
        kind=kind,
        urgency=urgency,
        pathway=pathway,
        study_kind=study_kind,
        named_expert=named_expert,
        target_site=site,
        discharge_summary=discharge_summary,
    )
    if not clinical_question.strip():
        raise DomainError(_("State the clinical question."), code="invalid")
    if not (
        target_specialty
        or named_expert
        or pathway in (Pathway.CHEST_PAIN, Pathway.STROKE, Pathway.TRAUMA, Pathway.POISONING)
        or kind == ReferralKind.DOWN
    ):
        raise DomainError(_("Name a target specialty or an expert."), code="invalid_target")
    # Going down, the specialist may send back a patient another site shared with them through a request.
    shared = resource_refs_shared_with(requester) if kind == ReferralKind.DOWN else set()
    patient = patient_resolve(site_code=requester.site.code, reference=patient_ref, shared=shared)
    records = attachments_check(
        site_code=requester.site.code, patient_ref=patient.reference, references=list(attachments), shared=shared
    )
    if consent is None and urgency != Urgency.EMERGENCY:
        raise DomainError(
            _("The patient's consent is required (only emergencies may defer it)."), code="consent_required"
        )

    # A new request is written once: routed and its FHIR records written first, then its row inserted with all
    # of it, then its first rows (no earlier ones to look for).
    referral = Referral(
        kind=kind,
        urgency=urgency,
        pathway=pathway,
        study_kind=study_kind,
        requester=requester,
        requesting_site=requester.site,
        target_site=site,
        target_specialty=target_specialty,
        named_expert=named_expert,
        patient_ref=patient.reference,
        patient_display=patient.display,
        person_uid=patient.person,
        clinical_question=clinical_question.strip(),
        reason=reason.strip(),
        attachments=records,
        is_test=patient.test,
        consent_state=ConsentState.GIVEN if consent else ConsentState.DEFERRED,
        created_at=now,
    )
    nodes = dict(time_nodes or {})
    if submit and pathway in TIME_CRITICAL_PATHWAYS:
        nodes.setdefault(TimeNode.CONSULT_REQUESTED, now)
    for node, at in nodes.items():
        time_node_check(node=node, at=at, now=now)
    decision = _submit_new(referral=referral, now=now) if submit else None
    owner = requester.site.code
    given = consent or ConsentGiven()
    urn = {name: f"urn:uuid:{uuid.uuid4()}" for name in ("consent", "summary", "request", "task")}
    referral.consent_id = urn["consent"]
    together = [
        (
            urn["consent"],
            consent_build(referral, method=given.method, given_by=given.given_by, date=given.given_at or now),
        )
    ]
    if discharge_summary:
        referral.attachments = [*referral.attachments, urn["summary"]]
        summary = discharge_summary_build(referral=referral, text=discharge_summary, author=requester)
        together.append((urn["summary"], summary))
    together.append((urn["request"], service_request_build(referral)))
    referral.service_request_id = urn["request"]  # the Task is based on it
    together.append((urn["task"], task_build(referral)))
    placed = fhir_create_together(resources=together, owner=owner)
    referral.consent_id = placed[urn["consent"]].split("/")[1]
    referral.service_request_id = placed[urn["request"]].split("/")[1]
    referral.task_id = placed[urn["task"]].split("/")[1]
    referral.attachments = [placed.get(reference, reference) for reference in referral.attachments]
    referral.save(force_insert=True)

    people = [(requester, ParticipantRole.REQUESTER)]
    if decision is not None and decision.assignee is not None:
        people.append((decision.assignee, ParticipantRole.OWNER))
    Participant.objects.bulk_create(
        [
            Participant(referral=referral, user=user, role=role, added_by=requester, added_at=now)
            for user, role in people
        ]
    )
    referral.time_node_rows = time_nodes_add(referral=referral, nodes=nodes, actor=requester, now=now)
    referral.routing_trail = []
    if decision is not None:
        referral.routing_trail = [routing_record(referral=referral, decision=decision, now=now)]
        Transition.objects.create(
            referral=referral,
            action="submit",
            from_status=TaskStatus.DRAFT,
            to_status=referral.status,
            business_status=referral.business_status,
            actor=requester,
            at=now,
            detail={"rule": decision.rule},
        )
    return referral


def _route_and_start_clock(*, referral: Referral, now: datetime) -> RouteDecision:
    """Route (not yet recorded) and start the response clock."""
    transition_check(referral=referral, action="submit")
    decision = route_decide(referral=referral, now=now)
    if decision is None:
        raise DomainError(
            _("Nobody at %(site)s can take this request: no department for the specialty.")
            % {"site": referral.target_site.name},
            code="no_route",
        )
    within, _every = sla_target(urgency=referral.urgency, pathway=referral.pathway)
    referral.status = "requested"
    referral.submitted_at = now
    referral.sla_due_at = now + within
    return decision


def _submit_new(*, referral: Referral, now: datetime) -> RouteDecision:
    """A request being created: routed and its clock started before anything is written (the caller records)."""
    decision = _route_and_start_clock(referral=referral, now=now)
    routing_point(referral=referral, decision=decision)
    return decision


def _submit(*, referral: Referral, actor, now: datetime) -> RoutingDecision:
    """Route a draft and start its response clock."""
    before = referral.status
    decision = _route_and_start_clock(referral=referral, now=now)
    routed = routing_apply(referral=referral, decision=decision, now=now, actor=actor)
    if referral.pathway in TIME_CRITICAL_PATHWAYS:
        time_node_put(referral=referral, node=TimeNode.CONSULT_REQUESTED, at=now, actor=actor, now=now, keep=True)
    transition_record(
        referral=referral,
        action="submit",
        actor=actor,
        now=now,
        from_status=before,
        detail={"rule": decision.rule},
    )
    return routed


@transaction.atomic
def referral_submit(*, referral_id: int, actor, now: datetime | None = None) -> Referral:
    """Send a draft: it is routed and its response clock starts."""
    now = now or timezone.now()
    referral = referral_lock(referral_id=referral_id)
    check_requester(actor, referral)
    _submit(referral=referral, actor=actor, now=now)
    return referral
