"""Opening a room, admitting and removing participants, and ending it with the opinion and a session record."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from federation.outbox.services import outbox_enqueue
from hub.access.constants import GrantReason
from hub.access.grants import grant_close, grant_open
from hub.accounts.constants import Role
from hub.accounts.pins import SigningPin
from hub.api_errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from hub.consultations import events, janus
from hub.consultations.audit import room_audited
from hub.consultations.constants import (
    CLOSE_ENDED,
    CLOSE_REMOVED,
    MESH_LIMIT,
    EventKind,
    MediaMode,
    RoomRole,
    RoomStatus,
)
from hub.consultations.fhir import ROOM_ID_SYSTEM, encounter_build, fhir_create_once, fhir_read_internal, fhir_update
from hub.consultations.models import Room, RoomConnection, RoomParticipant
from hub.consultations.services.log import event_append
from hub.notifications.events import notify_on_commit
from hub.referrals.constants import OPEN_STATUSES, ParticipantRole
from hub.referrals.fhir.resources import user_reference
from hub.referrals.models import Referral
from hub.referrals.permissions import can_view

ROLE_OF = {
    ParticipantRole.REQUESTER: RoomRole.REQUESTER,
    ParticipantRole.OWNER: RoomRole.OWNER,
    ParticipantRole.EXPERT: RoomRole.EXPERT,
    ParticipantRole.COUNTY: RoomRole.COUNTY,
}
HOSTS = (RoomRole.OWNER, RoomRole.REQUESTER)


def _room_lock(room_id: int) -> Room:
    room = (
        Room.objects.select_for_update(of=("self",), no_key=True).select_related("referral").filter(pk=room_id).first()
    )
    if room is None:
        raise NotFoundError(_("No such consultation room."))
    return room


def _role_for(*, referral: Referral, user) -> str:
    if user.pk == referral.owner_id:
        return RoomRole.OWNER
    if user.pk == referral.requester_id:
        return RoomRole.REQUESTER
    row = referral.participants.filter(user=user, active=True).first()
    if row is not None:
        return ROLE_OF.get(row.role, RoomRole.EXPERT)
    return RoomRole.COUNTY if user.site_id == referral.requesting_site_id else RoomRole.EXPERT


def _media_mode(room: Room) -> str:
    from django.conf import settings

    admitted = room.participants.filter(removed_at__isnull=True).count()
    return MediaMode.SFU if admitted > MESH_LIMIT and (settings.LIVEKIT_URL or settings.JANUS_URL) else MediaMode.MESH


def _media_mode_update(room: Room) -> None:
    """Mesh up to ``MESH_LIMIT`` admitted people, the SFU beyond; the connected browsers move when it changes."""
    mode = _media_mode(room)
    if mode == room.media_mode:
        return
    room.media_mode = mode
    room.save(update_fields=["media_mode"])
    events.publish_on_commit([events.frame_to_room(room.pk, {"type": "media", "mode": mode})])


def room_url(room: Room) -> str:
    return reverse("consultations-web:room", kwargs={"room_id": room.pk})


def _room_notify(*, room: Room, recipients, title: str, body: str) -> None:
    referral = room.referral
    notify_on_commit(
        event="room.opened",
        recipients=recipients,
        title=title,
        body=body,
        payload={
            "referral": {"id": referral.pk, "urgency": referral.urgency, "patient": referral.patient_display},
            "room": {"id": room.pk, "url": room_url(room)},
            "link": {"url": room_url(room), "label": str(_("Join the consultation room"))},
        },
    )


def participant_admit(*, room: Room, user, by=None, role: str | None = None, now: datetime) -> RoomParticipant:
    """Admit ``user`` (or admit again after a removal): a grant on the patient for the room's lifetime."""
    if not user.is_active or user.role not in (Role.COUNTY_DOCTOR, Role.SPECIALIST):
        raise DomainError(_("%(name)s cannot take part in a consultation.") % {"name": user}, code="invalid")
    role = role or _role_for(referral=room.referral, user=user)
    participant = RoomParticipant.objects.filter(room=room, user=user).first()
    if participant is not None and participant.admitted:
        return participant
    if participant is None:
        participant = RoomParticipant.objects.create(room=room, user=user, role=role, admitted_at=now, admitted_by=by)
    else:
        participant.removed_at = participant.removed_by = None
        participant.admitted_at, participant.admitted_by = now, by
        participant.save(update_fields=["removed_at", "removed_by", "admitted_at", "admitted_by"])
    grant_open(
        user=user,
        patient_ref=room.patient_ref,
        reason=GrantReason.ROOM,
        source=room.grant_source,
        granted_by=by,
        justification=str(_("Consultation room participant")),
    )
    room_audited(user=by or user, room=room, action="grant", what="admit", participant=user.pk)
    event_append(room=room, kind=EventKind.ADMITTED, actor=by, data={"user": user.pk, "name": str(user)}, now=now)
    return participant


@transaction.atomic
def room_open(*, referral_id: int, actor=None, announce: bool = True, now: datetime | None = None) -> Room:
    """The room of an open request (the existing one if open): its participants admitted and told
    (``announce``; the workflow's own notification of the step that opened it may carry its link instead)."""
    now = now or timezone.now()
    referral = Referral.objects.select_for_update(of=("self",), no_key=True).filter(pk=referral_id).first()
    if referral is None or (actor is not None and not can_view(actor, referral)):
        raise NotFoundError(_("No such referral."))
    existing = Room.objects.filter(referral=referral, status=RoomStatus.OPEN).first()
    if existing is not None:
        return existing
    if referral.status not in OPEN_STATUSES:
        raise ConflictError(_("A room is opened for an open request only."), code="illegal_transition")
    room = Room.objects.create(referral=referral, patient_ref=referral.patient_ref, opened_at=now, opened_by=actor)
    event_append(room=room, kind=EventKind.OPENED, actor=actor, data={}, now=now)
    people = [p.user for p in referral.participants.select_related("user").filter(active=True)]
    if actor is not None and actor not in people:
        people.append(actor)
    for person in people:
        if person.is_active and person.role in (Role.COUNTY_DOCTOR, Role.SPECIALIST):
            participant_admit(room=room, user=person, by=actor, now=now)
    room.media_mode = _media_mode(room)
    room.save(update_fields=["media_mode"])
    if not announce:
        return room
    _room_notify(
        room=room,
        recipients=[p for p in people if p != actor],
        title=_("Consultation room open"),
        body=_("%(patient)s: %(question)s")
        % {"patient": referral.patient_display, "question": referral.clinical_question[:120]},
    )
    return room


def room_open_for_referral(*, referral: Referral, announce: bool, now: datetime | None = None) -> Room | None:
    """The workflow's hook: open the room (as the hub) unless it is open already or the request is closed."""
    if referral.status not in OPEN_STATUSES:
        return None
    return room_open(referral_id=referral.pk, announce=announce, now=now)


def room_enter(*, room_id: int, user, now: datetime | None = None) -> RoomParticipant:
    """Admission when someone opens the room: admitted already, or entitled to the request and not removed.

    Whoever may see the request under the referral's rules (its requesting site, the routed team, its
    participants) is admitted on entering; a participant the room removed stays out until admitted again.
    The participant returned carries its ``room``.
    """
    if user.role in (Role.COUNTY_DOCTOR, Role.SPECIALIST):  # the usual case, in one read: admitted already
        participant = (
            RoomParticipant.objects.select_related("room")
            .filter(room_id=room_id, user=user, removed_at__isnull=True, room__status=RoomStatus.OPEN)
            .first()
        )
        if participant is not None:
            return participant
    return _room_enter(room_id=room_id, user=user, now=now or timezone.now())


@transaction.atomic
def _room_enter(*, room_id: int, user, now: datetime) -> RoomParticipant:
    room = Room.objects.select_related("referral").filter(pk=room_id, status=RoomStatus.OPEN).first()
    if room is None or user.role not in (Role.COUNTY_DOCTOR, Role.SPECIALIST):
        raise NotFoundError(_("No such consultation room."))
    participant = room.participants.filter(user=user).first()  # its ``room`` is this one
    if participant is not None:
        if not participant.admitted:
            raise NotFoundError(_("No such consultation room."))
        return participant
    if not can_view(user, room.referral):
        raise NotFoundError(_("No such consultation room."))
    room = _room_lock(room.pk)
    return participant_admit(room=room, user=user, by=user, now=now)


def _check_host(*, room: Room, actor) -> RoomParticipant:
    host = RoomParticipant.objects.filter(room=room, user=actor, removed_at__isnull=True).first()
    if host is None:
        raise NotFoundError(_("No such consultation room."))
    if host.role not in HOSTS:
        raise ForbiddenError(_("Only the responsible specialist or the requesting doctor may do this."))
    return host


@transaction.atomic
def participant_invite(*, room_id: int, actor, invitees: list, now: datetime | None = None) -> list[RoomParticipant]:
    """The responsible specialist invites experts (or county colleagues): they join the request and the room."""
    from hub.referrals.services import task_invite

    now = now or timezone.now()
    # The request's lock before the room's, as every service holding both takes them (a decision's time node,
    # a first specialist's "expert joined", the room's end): the other order deadlocked with a decision.
    Referral.objects.select_for_update(of=("self",), no_key=True).filter(rooms__pk=room_id).first()
    room = _room_lock(room_id)
    _check_host(room=room, actor=actor)
    if room.status != RoomStatus.OPEN:
        raise ConflictError(_("The room has ended."), code="room_ended")
    task_invite(referral_id=room.referral_id, actor=actor, invitees=invitees, now=now)
    admitted = [participant_admit(room=room, user=person, by=actor, now=now) for person in invitees]
    _media_mode_update(room)
    _room_notify(
        room=room,
        recipients=invitees,
        title=_("You are invited to a consultation room"),
        body=_("%(name)s invites you: %(patient)s") % {"name": actor, "patient": room.referral.patient_display},
    )
    return admitted


@transaction.atomic
def participant_remove(*, room_id: int, actor, user, now: datetime | None = None) -> RoomParticipant:
    """A host removes someone: their grant closes and their connections are closed at once."""
    now = now or timezone.now()
    room = _room_lock(room_id)
    _check_host(room=room, actor=actor)
    participant = RoomParticipant.objects.filter(room=room, user=user, removed_at__isnull=True).first()
    if participant is None:
        raise NotFoundError(_("%(name)s is not in this room.") % {"name": user})
    if participant.role in HOSTS or user.pk == actor.pk:
        raise DomainError(_("The responsible specialist and the requesting doctor cannot be removed."), code="invalid")
    if janus.configured():  # its access token off the SFU room's list, its feeds kicked
        _sfu_enqueue(
            janus.SFU_REVOKE_KIND,
            room=room,
            user=user.pk,
            tokens=[janus.access_token(room_uid=room.uid, participant=participant)],
        )
    participant.removed_at, participant.removed_by = now, actor
    participant.last_left_at = participant.last_left_at or (now if participant.first_joined_at else None)
    participant.save(update_fields=["removed_at", "removed_by", "last_left_at"])
    RoomConnection.objects.filter(room=room, user=user).delete()
    grant_close(source=room.grant_source, user=user)
    room_audited(user=actor, room=room, action="revoke", what="remove", participant=user.pk)
    # The removed person's sockets are closed before the room hears of it: they receive nothing more.
    events.publish_on_commit(
        [events.kick(room.pk, user.pk, CLOSE_REMOVED, {"type": "removed", "detail": str(_("You were removed."))})]
    )
    event_append(room=room, kind=EventKind.REMOVED, actor=actor, data={"user": user.pk, "name": str(user)}, now=now)
    return participant


def _sfu_enqueue(kind: str, *, room: Room, **payload) -> None:
    """What the SFU must be told (a removal, the end), in the caller's transaction, through the outbox; one
    room's messages go in order."""
    outbox_enqueue(
        kind=kind,
        destination=janus.DESTINATION,
        payload={"room": room.pk, "uid": str(room.uid), **payload},
        ordering_key=f"sfu:room:{room.pk}",
        subject=f"room:{room.pk}",
    )


def _session_record(*, room: Room) -> None:
    """The virtual Encounter of the session, and the booked Appointment marked fulfilled with who took part."""
    participants = list(room.participants.select_related("user"))
    referral = room.referral
    owner = referral.requesting_site.code
    appointment = referral.appointments.exclude(fhir_id="").order_by("-starts_at").first()
    encounter = encounter_build(
        room=room, participants=participants, appointment_id=appointment.fhir_id if appointment else ""
    )
    reference = fhir_create_once(
        resource=encounter, owner=owner, identifier={"system": ROOM_ID_SYSTEM, "value": str(room.uid)}
    )
    room.encounter_id = reference.split("/", 1)[1]
    if appointment is None:
        return
    stored = fhir_read_internal(reference=f"Appointment/{appointment.fhir_id}")
    if stored is None:
        return
    joined = [p.user for p in participants if p.first_joined_at]
    listed = {(p.get("actor") or {}).get("identifier", {}).get("value") for p in stored.get("participant", [])}
    stored["participant"] = stored.get("participant", []) + [
        {"actor": user_reference(u), "status": "accepted"} for u in joined if u.username not in listed
    ]
    stored["status"] = "fulfilled"
    fhir_update(resource=stored, owner=owner)


def _room_close(*, room: Room, actor, now: datetime, reason: str = "") -> None:
    room.status, room.ended_at, room.ended_by, room.presented = RoomStatus.ENDED, now, actor, {}
    live_users = set(RoomConnection.objects.filter(room=room).values_list("user_id", flat=True))
    RoomParticipant.objects.filter(room=room, user_id__in=live_users).update(last_left_at=now)
    RoomConnection.objects.filter(room=room).delete()
    event_append(room=room, kind=EventKind.ENDED, actor=actor, data={"reason": reason}, now=now, allow_closed=True)
    room.save(update_fields=["status", "ended_at", "ended_by", "presented"])
    _session_record(room=room)
    room.save(update_fields=["encounter_id"])
    grant_close(source=room.grant_source)
    if janus.configured():
        _sfu_enqueue(janus.SFU_CLOSE_KIND, room=room)
    events.publish_on_commit(
        [events.close_room(room.pk, CLOSE_ENDED, {"type": "ended", "detail": str(_("The consultation has ended."))})]
    )


@transaction.atomic
def room_end(
    *,
    room_id: int,
    actor,
    conclusion: str = "",
    title: str = "",
    recommendations: str = "",
    pin: SigningPin | None = None,
    now: datetime | None = None,
) -> Room:
    """A host ends the room; the responsible specialist may sign the opinion with it (as on the request's page):
    with a conclusion, ``pin`` is the signer's signing PIN (checked as every signature's; refused without one).
    A refused signature leaves the room open and nothing stored."""
    from hub.referrals.services import opinion_sign

    if conclusion.strip() and pin is None:
        raise DomainError(_("Signing the opinion needs your signing PIN."), code="invalid_pin")
    now = now or timezone.now()
    referral = Referral.objects.select_for_update(of=("self",), no_key=True).filter(rooms__pk=room_id).first()
    room = _room_lock(room_id)
    _check_host(room=room, actor=actor)
    if room.status != RoomStatus.OPEN:
        raise ConflictError(_("The room has ended."), code="room_ended")
    _room_close(room=room, actor=actor, now=now)
    if conclusion.strip():
        opinion = opinion_sign(
            referral_id=referral.pk,
            actor=actor,
            conclusion=conclusion,
            title=title,
            recommendations=recommendations,
            pin=pin,
            now=now,
        )
        event_append(
            room=room,
            kind=EventKind.DECISION,
            actor=actor,
            data={"decision": "opinion", "text": opinion.conclusion[:500], "opinion": opinion.pk},
            now=now,
            allow_closed=True,
        )
    return room


def room_end_for_referral(*, referral: Referral, now: datetime | None = None) -> None:
    """The workflow's hook: a request that closed (completed, cancelled, failed) ends its open room."""
    room = Room.objects.filter(referral=referral, status=RoomStatus.OPEN).first()
    if room is None:
        return
    with transaction.atomic():
        room = _room_lock(room.pk)
        if room.status == RoomStatus.OPEN:
            _room_close(room=room, actor=None, now=now or timezone.now(), reason=referral.status)
