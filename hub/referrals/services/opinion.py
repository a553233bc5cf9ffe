"""Sessions and signed opinions: scheduling, signing (which completes the Task), addenda."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.accounts.pins import SigningPin, signing_pin_require
from hub.api_errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from hub.referrals.constants import TIME_CRITICAL_PATHWAYS, TaskStatus, TimeNode, TreatmentDecision, decision_time_nodes
from hub.referrals.fhir.opinion import composition_build, provenance_build
from hub.referrals.fhir.resources import appointment_build
from hub.referrals.fhir.store import fhir_create
from hub.referrals.models import Appointment, Opinion, Referral
from hub.referrals.models.opinion import DeliveryStatus
from hub.referrals.permissions import check_owner, check_view
from hub.referrals.services.common import (
    referral_lock,
    referral_notify,
    requesting_side,
    transition_check,
    transition_record,
)
from hub.referrals.services.delivery import opinion_delivery_enqueue, site_endpoint
from hub.referrals.services.time_nodes import time_node_put
from hub.signatures.services import opinion_signature_make

MAX_SESSION = timedelta(hours=8)


@transaction.atomic
def appointment_schedule(
    *, referral_id: int, actor, starts_at: datetime, ends_at: datetime, now: datetime | None = None
) -> Appointment:
    """Book a consultation session (a FHIR Appointment) with everyone taking part."""
    now = now or timezone.now()
    referral = referral_lock(referral_id=referral_id)
    check_owner(actor, referral)
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise DomainError(_("Times need a time zone."), code="invalid")
    if not (starts_at < ends_at <= starts_at + MAX_SESSION):
        raise DomainError(_("A session ends after it starts and lasts at most 8 hours."), code="invalid")
    if ends_at <= now:
        raise DomainError(_("A session cannot be scheduled in the past."), code="invalid")
    before = referral.status
    referral.status = transition_check(referral=referral, action="schedule")
    people = [p.user for p in referral.participants.select_related("user").filter(active=True)]
    appointment = Appointment.objects.create(
        referral=referral, starts_at=starts_at, ends_at=ends_at, scheduled_by=actor, created_at=now
    )
    stored = fhir_create(resource=appointment_build(appointment, people=people), owner=referral.requesting_site.code)
    appointment.fhir_id = stored["id"]
    appointment.save(update_fields=["fhir_id"])
    transition_record(
        referral=referral,
        action="schedule",
        actor=actor,
        now=now,
        from_status=before,
        detail={"appointment": appointment.pk, "starts_at": starts_at.isoformat()},
    )
    referral_notify(
        referral=referral,
        event="referral.scheduled",
        recipients=[p for p in people if p != actor],
        title=_("Consultation scheduled"),
        body=_("%(start)s – %(end)s")
        % {"start": f"{timezone.localtime(starts_at):%Y-%m-%d %H:%M}", "end": f"{timezone.localtime(ends_at):%H:%M}"},
    )
    return appointment


def _opinion_write(
    *,
    referral: Referral,
    actor,
    title: str,
    conclusion: str,
    recommendations: str,
    now: datetime,
    appends: Opinion | None = None,
) -> Opinion:
    if not conclusion.strip():
        raise DomainError(_("An opinion states a conclusion."), code="invalid")
    opinion = Opinion(
        referral=referral,
        author=actor,
        appends=appends,
        title=(title.strip() or _("Consultation opinion"))[:200],
        conclusion=conclusion.strip(),
        recommendations=recommendations.strip(),
        signed_at=now,
    )
    appends_ref = f"Composition/{appends.composition_id}" if appends else None
    content = composition_build(opinion, appends_ref=appends_ref)
    opinion.signature = opinion_signature_make(opinion=opinion)  # the author's Ed25519 key (hub.signatures)
    endpoint = site_endpoint(site_id=referral.requesting_site_id)
    opinion.delivery_status = DeliveryStatus.PENDING if endpoint else DeliveryStatus.NOT_APPLICABLE
    owner = referral.requesting_site.code
    opinion.composition_id = fhir_create(resource=content, owner=owner)["id"]
    opinion.save()
    target = f"Composition/{opinion.composition_id}"
    opinion.provenance_id = fhir_create(resource=provenance_build(opinion, target_ref=target), owner=owner)["id"]
    opinion.save(update_fields=["provenance_id"])
    if endpoint:
        opinion_delivery_enqueue(opinion=opinion)
    return opinion


@transaction.atomic
def opinion_sign(
    *,
    referral_id: int,
    actor,
    conclusion: str,
    pin: SigningPin,
    title: str = "",
    recommendations: str = "",
    now: datetime | None = None,
    decision: str = "",
) -> Opinion:
    """Sign the opinion: it becomes immutable, completes the Task and goes back to the requesting site.

    ``pin``: the signer's signing PIN, always checked (``signing_pin_require``; a wrong one counts toward the
    lock and signs nothing); ``decision``: the treatment decided (``TreatmentDecision``), which fills the
    pathway's decision time nodes.
    """
    now = now or timezone.now()
    if decision and decision not in TreatmentDecision.values:
        raise DomainError(_("Unknown treatment decision."), code="invalid")
    referral = referral_lock(referral_id=referral_id)
    check_owner(actor, referral)
    before = referral.status
    referral.status = transition_check(referral=referral, action="complete")
    signing_pin_require(user=actor, pin=pin)
    opinion = _opinion_write(
        referral=referral, actor=actor, title=title, conclusion=conclusion, recommendations=recommendations, now=now
    )
    if referral.pathway in TIME_CRITICAL_PATHWAYS:
        time_node_put(referral=referral, node=TimeNode.DIAGNOSIS, at=now, actor=actor, now=now, keep=True)
    for node in decision_time_nodes(decision):
        time_node_put(referral=referral, node=node, at=now, actor=actor, now=now, keep=True)
    detail = {"opinion": opinion.pk} | ({"decision": decision} if decision else {})
    transition_record(referral=referral, action="complete", actor=actor, now=now, from_status=before, detail=detail)
    referral_notify(
        referral=referral,
        event="referral.completed",
        recipients=requesting_side(referral),
        title=_("Opinion signed"),
        body=f"{opinion.title}: {opinion.conclusion[:200]}",
    )
    return opinion


@transaction.atomic
def opinion_addendum(
    *, opinion_id: int, actor, conclusion: str, pin: SigningPin, title: str = "", now: datetime | None = None
) -> Opinion:
    """Add to a signed opinion without changing it (Composition.relatesTo ``appends``); signed like the opinion,
    with the signer's ``pin`` (``signing_pin_require``)."""
    now = now or timezone.now()
    original = Opinion.objects.select_related("referral").filter(pk=opinion_id).first()
    if original is None:
        raise NotFoundError(_("No such opinion."))
    referral = referral_lock(referral_id=original.referral_id)
    check_view(actor, referral)
    if actor.pk not in (original.author_id, referral.owner_id):
        raise ForbiddenError(_("Only the opinion's author or the responsible specialist adds to it."))
    if referral.status != TaskStatus.COMPLETED:
        raise ConflictError(_("Addenda are added to completed requests."), code="illegal_transition")
    signing_pin_require(user=actor, pin=pin)
    addendum = _opinion_write(
        referral=referral,
        actor=actor,
        title=title or _("Addendum"),
        conclusion=conclusion,
        recommendations="",
        now=now,
        appends=original,
    )
    transition_record(referral=referral, action="addendum", actor=actor, now=now, detail={"opinion": addendum.pk})
    referral_notify(
        referral=referral,
        event="referral.addendum",
        recipients=requesting_side(referral),
        title=_("Addendum to the opinion"),
        body=addendum.conclusion[:200],
    )
    return addendum
