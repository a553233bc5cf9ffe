"""The room's websocket: the room protocol and WebRTC signalling.

Thin: it authenticates, checks admission, joins the room's groups, hands each frame to one service and
forwards what the room publishes. Frames are JSON objects with a ``type``; a frame that is not understood
gets an ``error`` frame and the connection stays open. Admission is checked on connecting; a removal or
the room's end closes the socket through the person's (or the room's) group at once.

Client -> server: join, chat, present, annotate, decision, presence, speaking, signal, pointer, sync,
ping, sfu, leave. Server -> client: state, event, ack, presence, presence.left, speaking, signal,
pointer, events, pong, sfu, error, removed, ended.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets

from django.utils.translation import gettext as _

from hub.api_errors import DomainError
from hub.consultations import events, media, selectors, services
from hub.consultations.constants import (
    CLOSE_NOT_FOUND,
    CLOSE_REPLACED,
    HEARTBEAT_SECONDS,
    RECONNECT_GRACE_SECONDS,
    REPLAY_MAX,
    VideoSource,
)
from hub.consultations.janus import JanusError
from hub.websockets import JsonConsumer, db

logger = logging.getLogger(__name__)
FRAME_MAX = 200_000  # bytes of one frame (an SDP offer with several video sources is ~10 kB)
SDP_TYPES = ("offer", "answer", "pranswer", "rollback")


class FrameError(Exception):
    def __init__(self, code: str, detail: str):
        self.code, self.detail = code, detail


def _int(value, *, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise FrameError("invalid", _("Expected a whole number."))
    return value


def _unit(value) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise FrameError("invalid", _("Coordinates are between 0 and 1."))
    return float(value)


class RoomConsumer(JsonConsumer):
    room_id: int
    connection_uid = ""
    joined = False
    removed = False
    left = False
    groups_joined: list[str]

    async def connect(self):
        self.groups_joined = []
        user = self.scope.get("user")
        self.room_id = int(self.scope["url_route"]["kwargs"]["room_id"])
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        try:
            await db(self._enter)(user)
        except DomainError:  # missing, not entitled, removed, ended: one answer
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.accept()

    def _enter(self, user) -> None:
        participant = services.room_enter(room_id=self.room_id, user=user)
        selectors.admission_check(room=participant.room, participant=participant, user=user, open_only=True)

    async def _leave_groups(self) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def disconnect(self, code):
        await self._leave_groups()
        if self.joined and not self.left and not self.removed:
            await db(services.connection_drop)(connection_uid=self.connection_uid, channel_name=self.channel_name)
            asyncio.get_running_loop().call_later(RECONNECT_GRACE_SECONDS + 1, self._sweep_later, self.room_id)

    @staticmethod
    def _sweep_later(room_id: int) -> None:
        async def sweep():
            try:
                await db(services.presence_sweep)(room_id=room_id)
            except Exception:
                logger.exception("presence sweep of room %s failed", room_id)

        asyncio.ensure_future(sweep())

    # --- frames from the browser -------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if self.removed:
            return
        if text_data is None or len(text_data) > FRAME_MAX:
            await self.error("invalid", _("Frames are JSON text of at most 200 kB."))
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self.error("invalid_json", _("The frame is not JSON."))
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.error("invalid", _("A frame is an object with a type."))
            return
        kind = frame["type"]
        handler = self.HANDLERS.get(kind)
        if handler is None:
            await self.error("unknown_type", _("Unknown frame type: %(type)s") % {"type": kind[:40]}, frame)
            return
        if kind not in ("join", "ping") and not self.joined:
            await self.error("join_first", _("Join the room first."), frame)
            return
        try:
            await handler(self, frame)
        except FrameError as exc:
            await self.error(exc.code, exc.detail, frame)
        except DomainError as exc:
            await self.error(exc.code, exc.message, frame)

    async def error(self, code: str, detail: str, frame: dict | None = None) -> None:
        reply = {"type": "error", "code": code, "detail": str(detail)}
        if frame is not None:
            reply["for"] = frame.get("type")
            if isinstance(frame.get("id"), str):
                reply["id"] = frame["id"][:64]
        await self.send_json(reply)

    @property
    def user(self):
        return self.scope["user"]

    async def on_join(self, frame):
        if self.joined:
            raise FrameError("already_joined", _("This socket has joined already."))
        since = frame.get("since")
        if since is not None:
            _int(since)
        device = frame.get("device") or {}
        if not isinstance(device, dict):
            raise FrameError("invalid_device", _("The device is an object."))
        candidate = secrets.token_urlsafe(12)
        groups = [
            events.room_group(self.room_id),
            events.user_group(self.room_id, self.user.pk),
            events.connection_group(self.room_id, candidate),
        ]
        self.groups_joined.extend(groups)
        # Together: one wait on the channel layer instead of three in turn (each a turn of a busy event loop).
        await asyncio.gather(*(self.channel_layer.group_add(group, self.channel_name) for group in groups))
        try:
            joined, state, config = await db(self._join)(frame, device, since, candidate)
        except DomainError:
            await self._leave_groups()
            raise
        self.connection_uid, self.joined = joined.connection.uid, True
        if self.connection_uid != candidate:  # a reconnecting tab keeps its connection id
            group = events.connection_group(self.room_id, self.connection_uid)
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        if joined.replaced_channel:
            await self.channel_layer.send(
                joined.replaced_channel,
                {"type": "room.kick", "code": CLOSE_REPLACED, "frame": {"type": "replaced"}, "quiet": True},
            )
        await self.send_json({**state, "media": config})

    def _join(self, frame, device, since, candidate):
        joined = services.connection_join(
            uid=candidate,
            room_id=self.room_id,
            user=self.user,
            session=frame.get("session"),
            channel_name=self.channel_name,
            device=device.get("kind"),
            label=device.get("label", ""),
        )
        state = selectors.room_state(
            room=joined.room, participant=joined.participant, connection=joined.connection, since=since
        )
        services.presence_sweep(room_id=self.room_id)
        return joined, state, media.media_config(room=joined.room, user=self.user)

    async def on_chat(self, frame):
        event = await db(services.message_post)(
            room_id=self.room_id, actor=self.user, text=frame.get("text"), client_id=frame.get("id")
        )
        await self.send_json({"type": "ack", "id": event.client_id, "seq": event.seq, "duplicate": event.duplicate})

    async def on_present(self, frame):
        if "ref" not in frame:
            raise FrameError("invalid_record", _("Name the record to present (or null to stop)."))
        await db(services.record_present)(room_id=self.room_id, actor=self.user, reference=frame["ref"])

    async def on_annotate(self, frame):
        event = await db(services.annotation_add)(
            room_id=self.room_id,
            actor=self.user,
            target=frame.get("target"),
            shape=frame.get("shape"),
            client_id=frame.get("id"),
        )
        await self.send_json({"type": "ack", "id": event.client_id, "seq": event.seq, "duplicate": event.duplicate})

    async def on_decision(self, frame):
        event = await db(services.decision_record)(
            room_id=self.room_id,
            actor=self.user,
            decision=frame.get("decision"),
            text=frame.get("text"),
            client_id=frame.get("id"),
        )
        await self.send_json({"type": "ack", "id": event.client_id, "seq": event.seq, "duplicate": event.duplicate})

    async def on_presence(self, frame):
        await db(services.connection_update)(
            connection_uid=self.connection_uid,
            audio_muted=frame.get("audio_muted"),
            video_muted=frame.get("video_muted"),
            sources=frame.get("sources", []),
        )

    async def on_speaking(self, frame):
        if not isinstance(frame.get("speaking"), bool):
            raise FrameError("invalid", _("Speaking is true or false."))
        await self._to_room({"type": "speaking", "connection": self.connection_uid, "speaking": frame["speaking"]})

    async def on_signal(self, frame):
        to = frame.get("to")
        if not isinstance(to, str) or not 0 < len(to) <= 32 or to == self.connection_uid:
            raise FrameError("invalid_signal", _("A signal names the connection it is for."))
        out = {"type": "signal", "from": self.connection_uid}
        description, candidate = frame.get("description"), frame.get("candidate", ...)
        if description is not None:
            if (
                not isinstance(description, dict)
                or description.get("type") not in SDP_TYPES
                or not isinstance(description.get("sdp", ""), str)
            ):
                raise FrameError("invalid_signal", _("A session description has a type and an SDP."))
            out["description"] = {"type": description["type"], "sdp": description.get("sdp", "")}
        elif candidate is not ...:
            if candidate is not None and (
                not isinstance(candidate, dict) or not isinstance(candidate.get("candidate", ""), str)
            ):
                raise FrameError("invalid_signal", _("An ICE candidate is an object (or null)."))
            out["candidate"] = candidate
        else:
            raise FrameError("invalid_signal", _("A signal carries a description or a candidate."))
        if isinstance(frame.get("restart"), bool):
            out["restart"] = frame["restart"]
        await self.channel_layer.group_send(
            events.connection_group(self.room_id, to), {"type": "room.signal", "frame": out}
        )

    async def on_pointer(self, frame):
        source = frame.get("source")
        if source not in VideoSource.values or not isinstance(frame.get("owner"), str) or len(frame["owner"]) > 32:
            raise FrameError("invalid_pointer", _("A pointer names the video (owner and source) it points at."))
        visible = frame.get("visible", True)
        if not isinstance(visible, bool):
            raise FrameError("invalid_pointer", _("Visible is true or false."))
        pointer = {
            "type": "pointer",
            "from": self.connection_uid,
            "owner": frame["owner"],
            "source": source,
            "x": _unit(frame.get("x")),
            "y": _unit(frame.get("y")),
            "visible": visible,
        }
        await self._to_room(pointer)

    async def on_sync(self, frame):
        since = _int(frame.get("since"))
        events_, truncated = await db(self._events_since)(since)
        await self.send_json({"type": "events", "events": events_, "truncated": truncated})

    def _events_since(self, since: int):
        room, _participant = selectors.room_for_participant(user=self.user, room_id=self.room_id)
        return selectors.events_since(room=room, since=since, limit=REPLAY_MAX)

    async def on_ping(self, frame):
        await self.send_json({"type": "pong", "t": frame.get("t") if isinstance(frame.get("t"), int | float) else None})
        if self.joined:
            loop = asyncio.get_running_loop()
            if loop.time() - getattr(self, "_seen_at", 0) > HEARTBEAT_SECONDS / 2:
                self._seen_at = loop.time()
                if not await db(services.connection_seen)(connection_uid=self.connection_uid):
                    await self.close(code=CLOSE_NOT_FOUND)

    async def on_sfu(self, frame):
        if not media.sfu_server():
            raise FrameError("no_sfu", _("No media server is configured; the room uses peer-to-peer video."))
        try:
            access = await db(self._sfu)()
        except JanusError as exc:
            logger.warning("room %s: the SFU cannot be reached: %s", self.room_id, exc)
            raise FrameError(
                "sfu_unavailable", _("The media server cannot be reached; try again in a moment.")
            ) from None
        await self.send_json({"type": "sfu", **access})

    def _sfu(self):
        room, participant = selectors.room_for_participant(user=self.user, room_id=self.room_id, open_only=True)
        return media.sfu_access(room=room, participant=participant, user=self.user, connection_uid=self.connection_uid)

    async def on_leave(self, frame):
        self.left = True
        await db(services.connection_leave)(connection_uid=self.connection_uid)
        await self.close(code=1000)

    HANDLERS = {
        "join": on_join,
        "chat": on_chat,
        "present": on_present,
        "annotate": on_annotate,
        "decision": on_decision,
        "presence": on_presence,
        "speaking": on_speaking,
        "signal": on_signal,
        "pointer": on_pointer,
        "sync": on_sync,
        "ping": on_ping,
        "sfu": on_sfu,
        "leave": on_leave,
    }

    async def _to_room(self, frame: dict) -> None:
        await self.channel_layer.group_send(events.room_group(self.room_id), {"type": "room.frame", "frame": frame})

    # --- what the room publishes -----------------------------------------------------------------------

    async def room_frame(self, message):
        if self.joined and not self.removed:
            await self.send_json(message["frame"])

    async def room_signal(self, message):
        if self.joined and not self.removed:
            await self.send_json(message["frame"])

    async def room_kick(self, message):
        if self.removed:
            return
        self.removed = True
        await self._leave_groups()
        await self.send_json(message["frame"])
        await self.close(code=message["code"])
