"""Reads of the consultation room: who may enter, the frames the room protocol sends, the log and history."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import orjson
from django.utils.translation import gettext as _

from hub import prepared
from hub.access.patients import patient_visible
from hub.accounts.constants import Role
from hub.api_errors import NotFoundError
from hub.consultations.constants import REPLAY_MAX, EventKind, RoomRole, RoomStatus
from hub.consultations.models import Annotation, Room, RoomConnection, RoomEvent, RoomParticipant

CLINICIANS = (Role.COUNTY_DOCTOR, Role.SPECIALIST)
# What the shared record lists (the readable-record component of hub/records replaces the list when it lands).
RECORD_TYPES = frozenset(
    {
        "DiagnosticReport",
        "Observation",
        "ImagingStudy",
        "Media",
        "DocumentReference",
        "Condition",
        "MedicationStatement",
        "Procedure",
        "AllergyIntolerance",
        "Encounter",
        "Composition",
    }
)


def _room(room_id) -> Room | None:
    return (
        Room.objects.select_related("referral", "referral__requesting_site", "referral__owner")
        .filter(pk=room_id)
        .first()
    )


def participant_of(*, room: Room, user) -> RoomParticipant | None:
    return RoomParticipant.objects.filter(room=room, user=user, removed_at__isnull=True).first()


def room_for_participant(*, user, room_id, open_only: bool = False) -> tuple[Room, RoomParticipant]:
    """The room and ``user``'s admission to it, or ``NotFoundError`` (missing, not admitted, removed: one answer).

    Admission is not enough: the user must also see the room's patient under the access rules (the room's
    grant while it is open; their own entitlements after it ended).
    """
    room = _room(room_id) if str(room_id).isdigit() else None
    participant = participant_of(room=room, user=user) if room is not None else None
    admission_check(room=room, participant=participant, user=user, open_only=open_only)
    return room, participant


def admission_check(*, room: Room | None, participant: RoomParticipant | None, user, open_only: bool) -> None:
    """``room_for_participant``'s judgement of a room and participant already read (``NotFoundError``)."""
    if room is None or participant is None or not participant.admitted or participant.user_id != user.pk:
        raise NotFoundError(_("No such consultation room."))
    if not patient_visible(user, room.patient_ref):
        raise NotFoundError(_("No such consultation room."))
    if open_only and room.status != RoomStatus.OPEN:
        raise NotFoundError(_("No such consultation room."))


def open_room_of_referral(*, referral) -> Room | None:
    return Room.objects.filter(referral=referral, status=RoomStatus.OPEN).first()


def room_link(*, referral_id: int) -> dict:
    """``{"link": {"url", "label"}}`` to the request's open room for its notifications, or ``{}``."""
    from django.urls import reverse
    from django.utils.translation import gettext

    room_id = Room.objects.filter(referral_id=referral_id, status=RoomStatus.OPEN).values_list("pk", flat=True).first()
    if room_id is None:
        return {}
    url = reverse("consultations-web:room", kwargs={"room_id": room_id})
    return {"link": {"url": url, "label": gettext("Join the consultation room")}, "room": {"id": room_id, "url": url}}


def rooms_of_referral(*, referral):
    return Room.objects.filter(referral=referral).order_by("-opened_at")


def _person(user) -> dict:
    return {
        "id": user.pk,
        "name": user.display_name or user.username,
        "site": user.site.name if user.site_id else "",
        "role": user.role,
    }


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")  # as ``_ISO_SQL`` writes it


def event_frame(event: RoomEvent, actor=None) -> dict:
    actor = actor if actor is not None else event.actor
    return {
        "type": "event",
        "seq": event.seq,
        "kind": event.kind,
        "id": event.client_id,
        "at": _iso(event.at),
        "actor": _person(actor) if actor is not None else None,
        "data": event.data,
        "fhir": event.fhir_ref,
    }


def connection_frame(connection: RoomConnection, *, state: str | None = None) -> dict:
    return {
        "id": connection.uid,
        "user": _person(connection.user),
        "device": connection.device,
        "label": connection.device_label,
        "audio_muted": connection.audio_muted,
        "video_muted": connection.video_muted,
        "sources": connection.sources,
        "state": state or ("reconnecting" if connection.dropped_at else "connected"),
    }


def participant_frame(participant: RoomParticipant) -> dict:
    return {**_person(participant.user), "room_role": participant.role, "admitted": participant.admitted}


# The frames of a joining or catching-up socket are built by PostgreSQL, in one statement: a phone coming back
# to a long consultation is sent up to REPLAY_MAX entries, and building them as models cost ~0.1 ms each, a
# join's participants and presence a few milliseconds more. They are the frames above (``event_frame``,
# ``participant_frame``, ``connection_frame``) written in SQL: tests/hub/consultations/test_room_frames.py
# holds the two to the same output (entries written live and read back, and every stored entry of a room).
_ISO_SQL = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
_PERSON_SQL = (
    "json_build_object('id', {u}.id, 'name', COALESCE(NULLIF({u}.display_name, ''), {u}.username),"
    " 'site', COALESCE({s}.name, ''), 'role', {u}.role)"
)


def _tables() -> dict[str, str]:
    from django.contrib.auth import get_user_model

    from federation.sites.models import Site

    return {
        "event": RoomEvent._meta.db_table,
        "participant": RoomParticipant._meta.db_table,
        "connection": RoomConnection._meta.db_table,
        "user": get_user_model()._meta.db_table,
        "site": Site._meta.db_table,
    }


def _events_sql(t: dict[str, str]) -> str:
    frame = (
        "json_build_object('type', 'event', 'seq', e.seq, 'kind', e.kind, 'id', e.client_id, 'at', "
        + _ISO_SQL.format("e.at")
        + ", 'actor', CASE WHEN u.id IS NULL THEN NULL ELSE "
        + _PERSON_SQL.format(u="u", s="s")
        + " END, 'data', e.data, 'fhir', e.fhir_ref)"
    )
    return (
        f"SELECT COALESCE(json_agg(x.f ORDER BY x.seq), '[]')::text FROM (SELECT e.seq, {frame} AS f"
        f" FROM {t['event']} e LEFT JOIN {t['user']} u ON u.id = e.actor_id LEFT JOIN {t['site']} s ON s.id = u.site_id"
        " WHERE e.room_id = %(room)s AND e.seq > %(since)s ORDER BY e.seq DESC LIMIT %(limit)s) x"
    )


def _people_sql(t: dict[str, str]) -> str:
    participant = (
        "json_build_object('id', u.id, 'name', COALESCE(NULLIF(u.display_name, ''), u.username),"
        " 'site', COALESCE(s.name, ''), 'role', u.role, 'room_role', p.role, 'admitted', p.removed_at IS NULL)"
    )
    connection = (
        "json_build_object('id', c.uid, 'user', "
        + _PERSON_SQL.format(u="u", s="s")
        + ", 'device', c.device, 'label', c.device_label, 'audio_muted', c.audio_muted,"
        " 'video_muted', c.video_muted, 'sources', c.sources,"
        " 'state', CASE WHEN c.dropped_at IS NULL THEN 'connected' ELSE 'reconnecting' END)"
    )
    return (
        f"(SELECT COALESCE(json_agg({participant} ORDER BY p.id), '[]')::text FROM {t['participant']} p"
        f" JOIN {t['user']} u ON u.id = p.user_id LEFT JOIN {t['site']} s ON s.id = u.site_id"
        " WHERE p.room_id = %(room)s AND p.removed_at IS NULL),"
        f" (SELECT COALESCE(json_agg({connection} ORDER BY c.connected_at, c.id), '[]')::text"
        f" FROM {t['connection']} c JOIN {t['user']} u ON u.id = c.user_id LEFT JOIN {t['site']} s ON s.id = u.site_id"
        " WHERE c.room_id = %(room)s)"
    )


@cache
def _statements() -> tuple[str, str]:
    t = _tables()
    events = _events_sql(t)
    return events, f"SELECT ({events}), {_people_sql(t)}"


def _replay(text: str, limit: int) -> tuple[list[dict], bool]:
    rows = orjson.loads(text)  # the latest limit + 1, oldest first
    return (rows[1:], True) if len(rows) > limit else (rows, False)


def events_since(*, room: Room, since: int, limit: int = REPLAY_MAX) -> tuple[list[dict], bool]:
    """Entries after ``since`` in order (at most ``limit``, the latest ones), and whether older ones were left."""
    (events,) = prepared.fetch_one(_statements()[0], {"room": room.pk, "since": since, "limit": limit + 1})
    return _replay(events, limit)


def room_lists(*, room: Room, since: int, limit: int = REPLAY_MAX) -> tuple[list[dict], bool, list[dict], list[dict]]:
    """``events_since``, the admitted participants (``participant_frame``) and who is connected
    (``connection_frame``, in the order they came), in one statement."""
    values = {"room": room.pk, "since": since, "limit": limit + 1}
    events, participants, presence = prepared.fetch_one(_statements()[1], values)
    return (*_replay(events, limit), orjson.loads(participants), orjson.loads(presence))


def live_connections(*, room: Room):
    return RoomConnection.objects.filter(room=room).select_related("user", "user__site").order_by("connected_at")


def room_state(*, room: Room, participant: RoomParticipant, connection: RoomConnection, since: int | None) -> dict:
    """The first frame a connection gets: the room, who is in it, what is shown, and the log it missed."""
    events, truncated, participants, presence = room_lists(room=room, since=since or 0)
    annotations = []
    if room.presented.get("ref"):
        annotations = annotations_of(room=room, target_ref=room.presented["ref"])
    return {
        "type": "state",
        "room": {
            "id": room.pk,
            "status": room.status,
            "media_mode": room.media_mode,
            "patient": room.patient_ref,
            "patient_name": room.referral.patient_display,
            "pathway": room.referral.pathway,
            "referral": room.referral_id,
            "seq": room.last_seq,
        },
        "me": {
            "connection": connection.uid,
            "user": _person(participant.user),
            "room_role": participant.role,
            "host": participant.role in (RoomRole.OWNER, RoomRole.REQUESTER),
        },
        "participants": participants,
        "presence": presence,
        "presented": room.presented,
        "annotations": annotations,
        "events": events,
        "truncated": truncated,
    }


def annotations_of(*, room: Room, target_ref: str) -> list[dict]:
    return [
        {"seq": a.event.seq, "target": a.target_ref, "shape": a.shape, "author": a.author_id}
        for a in Annotation.objects.filter(room=room, target_ref=target_ref).select_related("event")
    ]


def room_records(*, room: Room, user, limit: int = 100) -> list[dict]:
    """The room's patient's records for the shared record list, whichever site holds them.

    The user's own searches reach only their site's records, so a specialist would see none of the county's:
    the list is read by the hub, for a user who sees the patient under the access rules (the room's grant),
    and audited as theirs. Opening one record is a read as the user through the gateway.
    """
    from django.conf import settings

    from fhir_gateway import services as fhir
    from fhir_gateway.context import INTERNAL_ACTOR
    from fhir_gateway.errors import FhirError
    from hub.consultations.audit import room_audited

    if not patient_visible(user, room.patient_ref):
        return []
    params = [("_type", ",".join(sorted(RECORD_TYPES))), ("_count", str(limit))]
    try:
        bundle = fhir.patient_everything(
            fhir_id=room.patient_ref.split("/", 1)[1],
            params=params,
            actor=INTERNAL_ACTOR,
            base_url=settings.FEDERATION_HUB_BASE_URL,
        )
    except FhirError:
        return []
    records = [
        e["resource"] for e in bundle.get("entry") or [] if e.get("resource", {}).get("resourceType") in RECORD_TYPES
    ]
    room_audited(user=user, room=room, action="search", what="records", count=len(records))
    return records


def record_title(resource: dict) -> str:
    """A record's name for people: its clinical word (not its FHIR type) and its code's (or type's, modality's,
    title's) name, LOINC codes in the page's language (``hub.records.terms``)."""
    from hub.records.terms import clinical_word, concept_text

    kind = clinical_word(resource["resourceType"])
    for key in ("code", "type", "modality"):
        concept = resource.get(key)
        if isinstance(concept, list):
            concept = concept[0] if concept else None
        text = concept_text(concept) if isinstance(concept, dict) else ""
        if text:
            return f"{kind} · {text}"
    content = resource.get("content")
    if isinstance(content, dict) and content.get("title"):
        return f"{kind} · {content['title']}"
    return kind


def room_media_refs(*, room: Room) -> set[str]:
    """Media posted in the room (snapshots, shared images)."""
    refs = set()
    for data in RoomEvent.objects.filter(room=room, kind__in=[EventKind.CHAT, EventKind.SNAPSHOT]).values_list(
        "data", flat=True
    ):
        media = (data.get("attachment") or {}).get("media") or data.get("media")
        if media:
            refs.add(media)
    return refs


def room_timeline(*, room: Room) -> list[RoomEvent]:
    """The room's log for people: everything but the raw annotation strokes."""
    return list(
        RoomEvent.objects.filter(room=room).exclude(kind=EventKind.ANNOTATION).select_related("actor").order_by("seq")
    )


def rooms_of_user(*, user, open_only: bool = True):
    rooms = Room.objects.filter(participants__user=user, participants__removed_at__isnull=True)
    if open_only:
        rooms = rooms.filter(status=RoomStatus.OPEN)
    return rooms.select_related("referral").order_by("-opened_at")
