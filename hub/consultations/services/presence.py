"""Who is in the room right now, on which device, with microphone and camera on or off.

A connection is a row while its websocket is open; a dropped websocket keeps its row (``dropped_at``) for
the reconnect grace, so a phone that lost signal for 20 s comes back as the same connection, with no
"left" and "joined" in the timeline and nothing missed (the client asks for the log after its last
sequence number). Rows left by a server process that died are swept when their heartbeat is stale.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.accounts.constants import Role
from hub.api_errors import DomainError, NotFoundError
from hub.consultations import events
from hub.consultations.audit import room_audited
from hub.consultations.constants import (
    HEARTBEAT_SECONDS,
    RECONNECT_GRACE_SECONDS,
    EventKind,
    RoomRole,
    RoomStatus,
    VideoSource,
)
from hub.consultations.models import Room, RoomConnection, RoomParticipant
from hub.consultations.selectors import connection_frame
from hub.consultations.services.log import event_append

DEVICES = ("phone", "tablet", "pc")


@dataclass
class Joined:
    connection: RoomConnection
    participant: RoomParticipant
    room: Room
    replaced_channel: str = ""  # the same tab's previous socket, to be closed


def _presence(room_id: int, connection: RoomConnection, state: str | None = None) -> tuple[str, dict]:
    return events.frame_to_room(room_id, {"type": "presence", "connection": connection_frame(connection, state=state)})


def device_check(device, label) -> tuple[str, str]:
    if device not in DEVICES:
        raise DomainError(_("The device is a phone, tablet or pc."), code="invalid_device")
    if not isinstance(label, str) or len(label) > 100:
        raise DomainError(_("A device name has at most 100 characters."), code="invalid_device")
    return device, label


def _expert_joined(*, room: Room, participant: RoomParticipant, now: datetime) -> None:
    """On the chest-pain and stroke pathways, the first specialist entering the room is the "expert joined" time."""
    from hub.referrals.constants import TIME_CRITICAL_PATHWAYS, TimeNode
    from hub.referrals.models import TimeNodeRecord
    from hub.referrals.services.common import referral_lock
    from hub.referrals.services.time_nodes import time_node_put

    if room.referral.pathway not in TIME_CRITICAL_PATHWAYS or participant.user.role != Role.SPECIALIST:
        return
    if participant.role not in (RoomRole.OWNER, RoomRole.EXPERT):
        return
    recorded = TimeNodeRecord.objects.filter(referral_id=room.referral_id, node=TimeNode.EXPERT_JOINED)
    if recorded.exists():  # kept as it is: only the first specialist's entry needs the request's lock
        return
    referral = referral_lock(referral_id=room.referral_id)
    time_node_put(referral=referral, node=TimeNode.EXPERT_JOINED, at=now, actor=participant.user, now=now, keep=True)


@transaction.atomic
def connection_join(
    *,
    room_id: int,
    user,
    session: str,
    channel_name: str,
    device: str,
    label: str = "",
    uid: str = "",
    now: datetime | None = None,
) -> Joined:
    """A websocket joins (or a dropped one of the same tab comes back); the room hears who is in.

    ``uid``: the id a new connection gets (the consumer listens on its group before the room hears of it,
    so that no offer sent at once is lost); a reconnecting tab keeps its own.
    """
    now = now or timezone.now()
    device, label = device_check(device, label)
    if not isinstance(session, str) or not 8 <= len(session) <= 64:
        raise DomainError(_("A join names the tab's session id (8 to 64 characters)."), code="invalid_session")
    participant = (
        RoomParticipant.objects.select_related(
            "user", "user__site", "room", "room__referral", "room__referral__requesting_site"
        )
        .filter(room_id=room_id, user=user, removed_at__isnull=True)
        .first()
    )
    if participant is None or participant.room.status != RoomStatus.OPEN:
        raise NotFoundError(_("No such consultation room."))
    room = participant.room
    if participant.first_joined_at is None:
        _expert_joined(room=room, participant=participant, now=now)  # the request's lock before the room's
    # The person's connections in this room (a tab, a phone and a PC: a few rows), locked: this tab's, if it
    # comes back, and whether another of theirs is in already (then the room hears no second "joined").
    theirs = list(RoomConnection.objects.select_for_update().filter(room=room, user=user))
    connection = next((c for c in theirs if c.session == session), None)
    replaced = ""
    if connection is not None:  # the same tab again: a reconnect
        connection.user = participant.user  # read with their site above (not locked with the connection's row)
        if connection.channel_name != channel_name and connection.dropped_at is None:
            replaced = connection.channel_name
        connection.channel_name, connection.dropped_at, connection.last_seen_at = channel_name, None, now
        connection.device, connection.device_label = device, label
        connection.save(update_fields=["channel_name", "dropped_at", "last_seen_at", "device", "device_label"])
        events.publish_on_commit([_presence(room.pk, connection)])
        return Joined(connection, participant, room, replaced)
    others = bool(theirs)
    connection = RoomConnection.objects.create(
        uid=uid or secrets.token_urlsafe(12),
        room=room,
        user=user,
        session=session,
        channel_name=channel_name,
        device=device,
        device_label=label,
        connected_at=now,
        last_seen_at=now,
    )
    if participant.first_joined_at is None:
        participant.first_joined_at = now
        participant.save(update_fields=["first_joined_at"])
    if room.started_at is None:
        Room.objects.filter(pk=room.pk, started_at__isnull=True).update(started_at=now)
    room_audited(user=user, room=room, action="read", what="join", device=device)
    events.publish_on_commit([_presence(room.pk, connection)])
    if not others:
        event_append(room=room, kind=EventKind.JOINED, actor=user, data={"device": device}, now=now)
    return Joined(connection, participant, room)


def connection_seen(*, connection_uid: str, now: datetime | None = None) -> bool:
    """A heartbeat: the connection is alive (False: it is gone, e.g. swept or the room ended)."""
    now = now or timezone.now()
    return bool(RoomConnection.objects.filter(uid=connection_uid).update(last_seen_at=now))


@transaction.atomic
def connection_update(*, connection_uid: str, audio_muted, video_muted, sources) -> RoomConnection:
    """Microphone and camera on or off, and which video sources the device sends (camera, ultrasound, screen)."""
    if not isinstance(audio_muted, bool) or not isinstance(video_muted, bool):
        raise DomainError(_("Muted states are true or false."), code="invalid_presence")
    if (
        not isinstance(sources, list)
        or len(sources) > 3
        or not all(
            isinstance(s, dict)
            and s.get("kind") in VideoSource.values
            and isinstance(s.get("stream"), str)
            and 0 < len(s["stream"]) <= 100
            for s in sources
        )
    ):
        raise DomainError(_("Sources are up to three {kind, stream} pairs."), code="invalid_presence")
    connection = RoomConnection.objects.select_related("user", "user__site").filter(uid=connection_uid).first()
    if connection is None:
        raise NotFoundError(_("No such connection."))
    connection.audio_muted, connection.video_muted = audio_muted, video_muted
    connection.sources = [{"kind": s["kind"], "stream": s["stream"]} for s in sources]
    connection.save(update_fields=["audio_muted", "video_muted", "sources"])
    events.publish_on_commit([_presence(connection.room_id, connection)])
    return connection


@transaction.atomic
def connection_drop(*, connection_uid: str, channel_name: str, now: datetime | None = None) -> None:
    """The websocket closed without a goodbye: keep the row for the grace period, show "reconnecting"."""
    now = now or timezone.now()
    # One conditional UPDATE, not a read then a save: the same tab's new socket may be joining right now, and a
    # save after waiting for its lock would mark the new socket's connection dropped (and the sweep remove it).
    if not RoomConnection.objects.filter(uid=connection_uid, channel_name=channel_name, dropped_at__isnull=True).update(
        dropped_at=now
    ):
        return  # replaced by a newer socket of the same tab, or already gone
    connection = RoomConnection.objects.select_related("user", "user__site").filter(uid=connection_uid).first()
    if connection is not None:
        events.publish_on_commit([_presence(connection.room_id, connection, state="reconnecting")])


def _leave(*, connection: RoomConnection, now: datetime) -> None:
    room = Room.objects.get(pk=connection.room_id)
    user_id = connection.user_id
    connection.delete()
    events.publish_on_commit(
        [events.frame_to_room(room.pk, {"type": "presence.left", "connection": connection.uid, "user": user_id})]
    )
    if RoomConnection.objects.filter(room=room, user_id=user_id).exists():
        return
    RoomParticipant.objects.filter(room=room, user_id=user_id).update(last_left_at=now)
    if room.status == RoomStatus.OPEN:
        event_append(room=room, kind=EventKind.LEFT, actor=connection.user, data={}, now=now)


def _stale(now: datetime):
    dropped = RoomConnection.objects.filter(dropped_at__lt=now - timedelta(seconds=RECONNECT_GRACE_SECONDS))
    silent = RoomConnection.objects.filter(
        last_seen_at__lt=now - timedelta(seconds=3 * HEARTBEAT_SECONDS + RECONNECT_GRACE_SECONDS)
    )
    return dropped | silent


@transaction.atomic
def connection_leave(*, connection_uid: str, now: datetime | None = None, stale_only: bool = False) -> bool:
    """The participant hung up (or, ``stale_only``, the grace period of a dropped connection ran out)."""
    now = now or timezone.now()
    connections = _stale(now) if stale_only else RoomConnection.objects.all()
    # Only the connection's row: a FOR UPDATE over the join would lock the user's row too, and deadlock with a
    # chat message of the same user (its foreign key check at commit takes a KEY SHARE lock on that row while
    # its transaction holds the room's row, which leaving then waits for).
    connection = connections.select_for_update(of=("self",)).filter(uid=connection_uid).select_related("user").first()
    if connection is None:
        return False
    _leave(connection=connection, now=now)
    return True


def presence_sweep(*, room_id: int | None = None, now: datetime | None = None) -> int:
    """Connections dropped longer than the grace, or silent for three heartbeats (a dead server process)."""
    now = now or timezone.now()
    stale = _stale(now)
    if room_id is not None:
        stale = stale.filter(room_id=room_id)
    return sum(
        connection_leave(connection_uid=uid, now=now, stale_only=True)
        for uid in list(stale.values_list("uid", flat=True)[:200])
    )
