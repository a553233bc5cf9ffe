"""The room's ordered log: chat, presenting a record, annotations, decisions, files and ultrasound snapshots.

Every entry gets the room's next sequence number in the writing transaction (the room row's counter,
incremented with ``UPDATE ... RETURNING``, which also serialises the room's writers), and is published to
the room after commit. A client's own id for an entry makes a resend (after a reconnect) a no-op that
answers with the stored entry: delivery is at least once, storage and display once.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from contextlib import nullcontext
from datetime import datetime, timedelta

import psycopg
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from federation.identity.selectors import patients_of_same_people
from fhir_gateway import services as fhir
from fhir_gateway.errors import FhirError
from hub import prepared
from hub.accounts.fhir import actor_of
from hub.api_errors import ConflictError, DomainError, NotFoundError
from hub.consultations import events
from hub.consultations.constants import (
    ANNOTATION_POINTS_MAX,
    ANNOTATION_SHAPES,
    ATTACHMENT_MAX_BYTES,
    CHAT_MAX,
    CLIENT_ID_MAX,
    SNAPSHOT_MAX_BYTES,
    DecisionKind,
    EventKind,
    RoomStatus,
    VideoSource,
)
from hub.consultations.fhir import (
    binary_build,
    communication_build,
    event_identifier,
    fhir_create_each_once,
    fhir_create_once,
    media_build,
)
from hub.consultations.models import Annotation, Room, RoomEvent, RoomParticipant
from hub.consultations.selectors import RECORD_TYPES, event_frame, record_title, room_media_refs
from hub.referrals.fhir.resources import user_reference_of

_CLIENT_ID = re.compile(rf"^[A-Za-z0-9_.:\-]{{1,{CLIENT_ID_MAX}}}$")
_REFERENCE = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
IMAGE_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG", "image/webp": b"RIFF"}
FILE_TYPES = {**IMAGE_TYPES, "application/pdf": b"%PDF"}

logger = logging.getLogger(__name__)


def _bad(message: str, code: str = "invalid") -> DomainError:
    return DomainError(message, code=code)


def client_id_check(value) -> str:
    if not isinstance(value, str) or not _CLIENT_ID.match(value):
        raise _bad(_("Each message carries its own id (letters, digits, - _ . :, at most 64)."), "invalid_id")
    return value


def _next_seq(room_id: int, *, allow_closed: bool) -> int:
    condition = "" if allow_closed else " AND status = 'open'"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Room._meta.db_table} SET last_seq = last_seq + 1 WHERE id = %s{condition} RETURNING last_seq",
            [room_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise ConflictError(_("The room has ended."), code="room_ended")
    return row[0]


def event_append(
    *,
    room: Room,
    kind: str,
    actor,
    data: dict,
    now: datetime,
    client_id: str = "",
    fhir_ref: str = "",
    allow_closed: bool = False,
    on_stored=None,
) -> RoomEvent:
    """Append to the log and publish after commit; a known ``client_id`` of ``actor`` returns the stored entry
    (``duplicate`` set) and writes nothing. ``on_stored(event)`` runs once for a new entry, after the publish."""
    try:
        # A savepoint only where a resend may fail on the unique constraint (an entry with a client id): in a
        # caller's transaction, the other entries (joined, presented, ...) save its two round trips.
        with transaction.atomic(savepoint=bool(client_id)):
            seq = _next_seq(room.pk, allow_closed=allow_closed)  # locks the room row until commit
            event = RoomEvent.objects.create(
                room=room, seq=seq, kind=kind, actor=actor, at=now, client_id=client_id, data=data, fhir_ref=fhir_ref
            )
    except IntegrityError:
        # A resend (the constraint on room, actor and client id): the sequence number taken above is rolled
        # back with it. Asking first cost every message a query for the rare resend.
        existing = RoomEvent.objects.filter(room=room, actor=actor, client_id=client_id).first() if client_id else None
        if existing is None:
            raise
        existing.duplicate = True
        return existing
    room.last_seq = seq
    event.duplicate = False
    events.publish_on_commit([events.frame_to_room(room.pk, event_frame(event, actor))])
    if on_stored is not None:
        transaction.on_commit(lambda: on_stored(event), robust=True)
    return event


def _admitted_room(*, room_id: int, actor) -> Room:
    """The open room ``actor`` is admitted to, or ``NotFoundError``."""
    admitted = RoomParticipant.objects.filter(room=OuterRef("pk"), user=actor, removed_at__isnull=True)
    room = (
        Room.objects.select_related("referral", "referral__requesting_site")
        .annotate(admitted=Exists(admitted))  # one query: the room and the caller's admission
        .filter(pk=room_id)
        .first()
    )
    if room is None or not room.admitted:
        raise NotFoundError(_("No such consultation room."))
    if room.status != RoomStatus.OPEN:
        raise ConflictError(_("The room has ended."), code="room_ended")
    return room


def _existing(*, room: Room, actor, client_id: str) -> RoomEvent | None:
    event = RoomEvent.objects.filter(room=room, actor=actor, client_id=client_id).first()
    if event is not None:
        event.duplicate = True
    return event


# A chat message's Communication is written by a flush that runs after it (``communications_flush``): with a
# broker, one queued per process per FLUSH_SECONDS at most, not one task per message (at 100 messages a second,
# each message's own task cost a publish in the room's database thread and a task in the worker).
FLUSH_SECONDS = 0.5
SWEEP_AFTER = timedelta(seconds=30)  # older entries are the sweep's (pending_fhir_store, every minute)
_flush = {"due": 0.0}
_flush_lock = threading.Lock()


def _communications_soon(_event: RoomEvent) -> None:
    """After a chat entry's commit: make sure a flush runs after it.

    Inline (no broker) the flush runs now. With a broker, a flush this process queued that is not yet due will
    see the entry (it was committed before the flush starts), so no other is queued; a flush that runs early
    (the worker's clock ahead by more than the margin) leaves the entry to the sweep (``pending_fhir_store``).
    """
    from hub.consultations.tasks import communications_flush_task

    if communications_flush_task.app.conf.task_always_eager:
        communications_flush_task.delay()
        return
    now = time.monotonic()
    with _flush_lock:
        if now < _flush["due"] - 0.1:
            return
        _flush["due"] = now + FLUSH_SECONDS
    communications_flush_task.apply_async(countdown=FLUSH_SECONDS)


# A chat entry in one statement: the sender's admission, the open room, no entry with the same client id,
# the room's next sequence number (the room row's lock, held to the end of the statement's transaction, orders
# the room's writers) and the insert. Most of the room's traffic is chat, and each of the four statements
# through the ORM cost about a millisecond of Python in the room's database thread.
_CHAT_APPEND = f"""
WITH room AS (
    UPDATE {Room._meta.db_table} r SET last_seq = r.last_seq + 1
    WHERE r.id = %(room)s AND r.status = %(open)s
      AND EXISTS (SELECT 1 FROM {RoomParticipant._meta.db_table} p
                  WHERE p.room_id = r.id AND p.user_id = %(actor)s AND p.removed_at IS NULL)
      AND NOT EXISTS (SELECT 1 FROM {RoomEvent._meta.db_table} e
                      WHERE e.room_id = r.id AND e.actor_id = %(actor)s AND e.client_id = %(client_id)s)
    RETURNING r.last_seq
)
INSERT INTO {RoomEvent._meta.db_table} (room_id, seq, kind, actor_id, at, client_id, data, fhir_ref)
SELECT %(room)s, room.last_seq, %(kind)s, %(actor)s, %(at)s, %(client_id)s, %(data)s::jsonb, '' FROM room
RETURNING id, seq
"""


def _chat_append(*, room_id: int, actor, client_id: str, data: dict, now: datetime) -> RoomEvent | None:
    """The new entry, or None when it was not written: not admitted, the room ended or missing, or a resend
    (the caller tells which). Two resends racing each other: the second fails on the unique constraint."""
    values = {
        "room": room_id,
        "open": RoomStatus.OPEN.value,
        "actor": actor.pk,
        "client_id": client_id,
        "kind": EventKind.CHAT.value,
        "at": now,
        "data": json.dumps(data, ensure_ascii=False),
    }
    # One statement is its own transaction; inside a caller's, a savepoint keeps a failed resend from ending it.
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        row = prepared.fetch_one(_CHAT_APPEND, values)
    if row is None:
        return None
    return RoomEvent(
        pk=row[0], room_id=room_id, seq=row[1], kind=EventKind.CHAT, actor=actor, at=now, client_id=client_id, data=data
    )


def message_post(*, room_id: int, actor, text, client_id, now: datetime | None = None) -> RoomEvent:
    """A chat message: in the log at once, a FHIR Communication right after (retried until written)."""
    client_id = client_id_check(client_id)
    if not isinstance(text, str) or not text.strip():
        raise _bad(_("A message has text."), "invalid_text")
    if len(text) > CHAT_MAX:
        raise _bad(_("A message has at most %(n)d characters.") % {"n": CHAT_MAX}, "invalid_text")
    now, data = now or timezone.now(), {"text": text.strip()}
    try:
        event = _chat_append(room_id=room_id, actor=actor, client_id=client_id, data=data, now=now)
    except psycopg.errors.UniqueViolation:
        event = None  # a resend raced its first copy: answered below with the stored one
    if event is None:  # why not: one answer for missing and not admitted, "ended", or the stored entry
        room = _admitted_room(room_id=room_id, actor=actor)
        existing = _existing(room=room, actor=actor, client_id=client_id)
        if existing is None:  # admitted since the statement: append as any other entry
            return transaction.atomic(event_append)(
                room=room,
                kind=EventKind.CHAT,
                actor=actor,
                data=data,
                client_id=client_id,
                now=now,
                on_stored=_communications_soon,
            )
        return existing
    event.duplicate = False
    # Committed already, unless a caller's transaction holds it: then these wait for its commit.
    events.publish_on_commit([events.frame_to_room(room_id, event_frame(event, actor))])
    transaction.on_commit(lambda: _communications_soon(event), robust=True)
    return event


def communications_flush(*, older_than: timedelta | None = None, now: datetime | None = None, limit: int = 500) -> int:
    """Write the chat entries still without their FHIR Communication (oldest first, at most ``limit``), each
    once: its identifier is the room's and the entry's, so a rewrite finds the first. All in one batch through
    the gateway (one transaction, a few statements). Entries another flush holds are skipped (it writes them);
    one that cannot be written is logged and left for the next sweep, and the others are written.

    A flush takes the entries of the last ``SWEEP_AFTER``; with ``older_than`` (the sweep, ``pending_fhir_store``)
    only older ones: what a crashed or absent worker left, and an entry that cannot be written, which so costs a
    try per sweep rather than one per flush."""
    pending = (
        RoomEvent.objects.select_related("room", "room__referral", "room__referral__requesting_site", "actor")
        .select_for_update(skip_locked=True, of=("self",))
        .filter(kind=EventKind.CHAT, fhir_ref="", actor__isnull=False)
        .order_by("pk")
    )
    now = now or timezone.now()
    if older_than is not None:
        pending = pending.filter(at__lt=now - older_than)
    else:
        pending = pending.filter(at__gte=now - SWEEP_AFTER)
    with transaction.atomic():
        events = list(pending[:limit])
        people = _room_people({e.room_id for e in events})
        while events:
            items = [
                (
                    communication_build(room=e.room, event=e, sender=e.actor, people=people[e.room_id]),
                    event_identifier(e.room, e.seq),
                    e.room.referral.requesting_site.code,
                )
                for e in events
            ]
            try:
                references = fhir_create_each_once(items)
            except DomainError as error:
                position = getattr(error.__cause__, "position", None)
                if position is None:
                    raise
                broken = events.pop(position)
                logger.warning(
                    "room %s: the Communication of entry %s was not written: %s", broken.room_id, broken.seq, error
                )
                continue
            with connection.cursor() as cursor:  # one statement (bulk_update's CASE cost ~1 ms of Python a row)
                cursor.execute(
                    f"UPDATE {RoomEvent._meta.db_table} e SET fhir_ref = v.ref"
                    " FROM unnest(%s::bigint[], %s::text[]) AS v(id, ref) WHERE e.id = v.id",
                    [[e.pk for e in events], references],
                )
            for event, reference in zip(events, references, strict=True):
                event.fhir_ref = reference
            return len(events)
    return 0


def _room_people(room_ids: set[int]) -> dict[int, list[tuple[int, dict]]]:
    """``{room id: [(user id, Practitioner reference)]}`` of every participant of the rooms, in one query."""
    people: dict[int, list[tuple[int, dict]]] = {room_id: [] for room_id in room_ids}
    rows = RoomParticipant.objects.filter(room_id__in=room_ids).order_by("pk")
    for room_id, user_id, username, display_name in rows.values_list(
        "room_id", "user_id", "user__username", "user__display_name"
    ):
        people[room_id].append((user_id, user_reference_of(username=username, display_name=display_name)))
    return people


def pending_fhir_store(*, older_than: timedelta = SWEEP_AFTER, now: datetime | None = None) -> int:
    """Chat entries whose Communication was not written (a worker down, a crash): write them now."""
    return communications_flush(older_than=older_than, now=now)


def reference_check(value) -> str:
    match = _REFERENCE.match(value) if isinstance(value, str) else None
    if match is None or match["type"] not in RECORD_TYPES:
        raise _bad(_("Name a record of the patient, e.g. DiagnosticReport/123."), "invalid_record")
    return value


def record_read_as(*, room: Room, user, reference: str) -> dict:
    """A record of the room's patient as ``user`` may read it (an audited read through the gateway)."""
    resource_type, _sep, fhir_id = reference.partition("/")
    try:
        resource = fhir.resource_read(resource_type=resource_type, fhir_id=fhir_id, actor=actor_of(user))
    except FhirError as exc:
        raise NotFoundError(_("No such record of this patient.")) from exc
    subject = (resource.get("subject") or resource.get("patient") or {}).get("reference", "")
    if subject != room.patient_ref:
        same = {ref for _site, ref in patients_of_same_people(patient_ids=[room.patient_ref.split("/", 1)[1]])}
        if subject not in same:
            raise NotFoundError(_("No such record of this patient."))
    return resource


@transaction.atomic
def record_present(*, room_id: int, actor, reference, now: datetime | None = None) -> RoomEvent:
    """Show a record to everyone (``reference`` None: stop presenting); everyone's view follows."""
    room = _admitted_room(room_id=room_id, actor=actor)
    now = now or timezone.now()
    if reference is None:
        room.presented = {}
        data = {"ref": None}
    else:
        reference = reference_check(reference)
        title = reference
        if reference not in room_media_refs(room=room):
            title = record_title(record_read_as(room=room, user=actor, reference=reference))
        data = {"ref": reference, "title": title}
    event = event_append(room=room, kind=EventKind.PRESENTED, actor=actor, data=data, now=now)
    room.presented = {"ref": reference, "by": actor.pk, "seq": event.seq} if reference else {}
    Room.objects.filter(pk=room.pk).update(presented=room.presented)
    return event


def shape_check(shape) -> dict:
    """A mark in coordinates relative to the image (0..1): its kind, points, and optional colour and text."""
    if not isinstance(shape, dict) or shape.get("kind") not in ANNOTATION_SHAPES:
        raise _bad(
            _("An annotation is a line, arrow, circle, rectangle, freehand stroke, point or text."), "invalid_shape"
        )
    points = shape.get("points")
    if (
        not isinstance(points, list)
        or not 1 <= len(points) <= ANNOTATION_POINTS_MAX
        or not all(
            isinstance(p, list)
            and len(p) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in p)
            for p in points
        )
    ):
        raise _bad(
            _("An annotation's points are [x, y] pairs between 0 and 1 (at most %(n)d).")
            % {"n": ANNOTATION_POINTS_MAX},
            "invalid_shape",
        )
    color = shape.get("color", "#ff3b30")
    text = shape.get("text", "")
    if not isinstance(color, str) or not _COLOR.match(color) or not isinstance(text, str) or len(text) > 200:
        raise _bad(_("An annotation's colour is #rrggbb and its text at most 200 characters."), "invalid_shape")
    return {
        "kind": shape["kind"],
        "points": [[round(x, 4), round(y, 4)] for x, y in points],
        "color": color,
        "text": text,
    }


@transaction.atomic
def annotation_add(*, room_id: int, actor, target, shape, client_id, now: datetime | None = None) -> RoomEvent:
    """A mark on the presented image or ECG (or an image posted in the room), shared and kept."""
    client_id = client_id_check(client_id)
    target = reference_check(target)
    shape = shape_check(shape)
    room = _admitted_room(room_id=room_id, actor=actor)
    if target != room.presented.get("ref") and target not in room_media_refs(room=room):
        raise _bad(_("Annotate the record being presented."), "invalid_target")
    now = now or timezone.now()
    event = event_append(
        room=room,
        kind=EventKind.ANNOTATION,
        actor=actor,
        data={"target": target, "shape": shape},
        client_id=client_id,
        now=now,
    )
    if not event.duplicate:
        Annotation.objects.create(room=room, event=event, target_ref=target, author=actor, shape=shape, created_at=now)
    return event


@transaction.atomic
def decision_record(*, room_id: int, actor, decision, text, client_id, now: datetime | None = None) -> RoomEvent:
    """A decision taken in the room; on the chest-pain and stroke pathways it records the time node itself."""
    from hub.referrals.constants import TIME_CRITICAL_PATHWAYS, TimeNode
    from hub.referrals.services import time_nodes_record

    client_id = client_id_check(client_id)
    if decision not in DecisionKind.values:
        raise _bad(_("A decision is a diagnosis, a treatment decision or a note."), "invalid_decision")
    if not isinstance(text, str) or not text.strip() or len(text) > 2000:
        raise _bad(_("State the decision (at most 2000 characters)."), "invalid_text")
    room = _admitted_room(room_id=room_id, actor=actor)
    now = now or timezone.now()
    existing = _existing(room=room, actor=actor, client_id=client_id)
    if existing is not None:
        return existing
    node = {DecisionKind.DIAGNOSIS: TimeNode.DIAGNOSIS, DecisionKind.DECISION: TimeNode.DECISION}.get(decision)
    if node and room.referral.pathway in TIME_CRITICAL_PATHWAYS:
        time_nodes_record(referral=room.referral, nodes={node: now}, actor=actor, now=now)  # the request's lock first
    return event_append(
        room=room,
        kind=EventKind.DECISION,
        actor=actor,
        data={"decision": decision, "text": text.strip(), "time_node": node or ""},
        client_id=client_id,
        now=now,
    )


def _content_check(*, content: bytes, content_type: str, allowed: dict[str, bytes], limit: int) -> None:
    if content_type not in allowed:
        raise _bad(_("This kind of file cannot be shared: %(type)s") % {"type": content_type}, "invalid_file")
    if not content:
        raise _bad(_("The file is empty."), "invalid_file")
    if len(content) > limit:
        raise _bad(_("The file is larger than %(mb)d MB.") % {"mb": limit // (1024 * 1024)}, "invalid_file")
    if not content.startswith(allowed[content_type]):
        raise _bad(_("The file is not what its type says (%(type)s).") % {"type": content_type}, "invalid_file")


def _binary_and_media(*, room, actor, content, content_type, name, now, ultrasound=False, width=None, height=None):
    owner = room.referral.requesting_site.code
    binary = fhir_create_once(resource=binary_build(content=content, content_type=content_type, room=room), owner=owner)
    media = ""
    if content_type in IMAGE_TYPES:
        media = fhir_create_once(
            resource=media_build(
                room=room,
                binary_ref=binary,
                content_type=content_type,
                size=len(content),
                title=name,
                operator=actor,
                at=now,
                ultrasound=ultrasound,
                width=width,
                height=height,
            ),
            owner=owner,
        )
    return binary, media


@transaction.atomic
def attachment_post(
    *,
    room_id: int,
    actor,
    content: bytes,
    content_type: str,
    name: str,
    text: str = "",
    client_id,
    now: datetime | None = None,
) -> RoomEvent:
    """An image or file in the chat: a FHIR Binary (with a Media for images), then the message."""
    client_id = client_id_check(client_id)
    _content_check(content=content, content_type=content_type, allowed=FILE_TYPES, limit=ATTACHMENT_MAX_BYTES)
    if not isinstance(text, str) or len(text) > CHAT_MAX:
        raise _bad(_("A message has at most %(n)d characters.") % {"n": CHAT_MAX}, "invalid_text")
    room = _admitted_room(room_id=room_id, actor=actor)
    existing = _existing(room=room, actor=actor, client_id=client_id)
    if existing is not None:
        return existing
    now = now or timezone.now()
    name = (name or "file")[:200]
    binary, media = _binary_and_media(
        room=room, actor=actor, content=content, content_type=content_type, name=name, now=now
    )
    attachment = {"binary": binary, "media": media, "content_type": content_type, "size": len(content), "name": name}
    return event_append(
        room=room,
        kind=EventKind.CHAT,
        actor=actor,
        data={"text": text.strip(), "attachment": attachment},
        client_id=client_id,
        now=now,
        on_stored=_communications_soon,
    )


@transaction.atomic
def snapshot_store(
    *,
    room_id: int,
    actor,
    content: bytes,
    content_type: str,
    source: str = VideoSource.ULTRASOUND,
    width: int | None = None,
    height: int | None = None,
    client_id,
    now: datetime | None = None,
) -> RoomEvent:
    """A still of the shared video (the remote ultrasound): FHIR Media + Binary of the patient, in the log."""
    client_id = client_id_check(client_id)
    _content_check(content=content, content_type=content_type, allowed=IMAGE_TYPES, limit=SNAPSHOT_MAX_BYTES)
    if source not in VideoSource.values:
        raise _bad(_("Unknown video source: %(source)s") % {"source": source}, "invalid_source")
    for value in (width, height):
        if value is not None and not (isinstance(value, int) and 1 <= value <= 10000):
            raise _bad(_("Width and height are whole pixels."), "invalid_size")
    room = _admitted_room(room_id=room_id, actor=actor)
    existing = _existing(room=room, actor=actor, client_id=client_id)
    if existing is not None:
        return existing
    now = now or timezone.now()
    title = f"{VideoSource(source).label} {timezone.localtime(now):%Y-%m-%d %H:%M:%S}"
    binary, media = _binary_and_media(
        room=room,
        actor=actor,
        content=content,
        content_type=content_type,
        name=title,
        now=now,
        ultrasound=source == VideoSource.ULTRASOUND,
        width=width,
        height=height,
    )
    return event_append(
        room=room,
        kind=EventKind.SNAPSHOT,
        actor=actor,
        data={"media": media, "binary": binary, "source": source, "width": width, "height": height, "title": title},
        client_id=client_id,
        fhir_ref=media,
        now=now,
    )
