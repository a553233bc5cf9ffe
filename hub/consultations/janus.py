"""Rooms larger than a mesh through the Janus WebRTC Server's VideoRoom plugin (deploy/janus/).

Janus runs with token authentication (``token_auth_secret``): every request, the browser's and the hub's,
carries a token ``<expiry>,janus,<plugin>:<base64 HMAC-SHA1>`` signed with the secret the hub and Janus
share (https://janus.conf.meetecho.com/docs/auth.html). The VideoRoom plugin has an admin key, so only the hub
creates rooms. Each consultation's Janus room is created by the hub with an access list: an admitted
participant's browser gets its own access token, derived from the admission (HMAC of the room, the
participant and the time they were admitted), so admitting someone again after a removal gives a new one.

A removal or the room's end leaves the hub through the outbox (kinds ``SFU_REVOKE_KIND`` and
``SFU_CLOSE_KIND``): the removed person's access token is taken off the list and their feeds kicked; an ended
room is destroyed. The hub speaks to Janus over its plain HTTP transport on the internal network
(``JANUS_API_URL``); browsers reach its WebSocket transport (``JANUS_URL``) through nginx's TLS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import httpx
from django.conf import settings

PLUGIN = "janus.plugin.videoroom"
SFU_REVOKE_KIND = "consultations.sfu-revoke"
SFU_CLOSE_KIND = "consultations.sfu-close"
DESTINATION = "sfu:janus"
PUBLISHERS = 30  # feeds a room takes (one per connection), as deploy/livekit/livekit.yaml's max_participants
VIDEO_BITRATE = 1_200_000  # a publisher's ceiling (bits/s); the ultrasound asks for more on its own feed
ROOM_EXISTS = 427
NO_SUCH_ROOM = 426
NO_SUCH_FEED = 428


class JanusError(Exception):
    """Janus answered with an error, or could not be reached."""

    def __init__(self, message: str, *, code: int | None = None):
        super().__init__(message)
        self.code = code


def configured() -> bool:
    return bool(settings.JANUS_URL)


def signed_token(*, ttl: int, now: float | None = None) -> str:
    """A core token for the VideoRoom plugin only, valid for ``ttl`` seconds."""
    data = f"{int((now or time.time()) + ttl)},janus,{PLUGIN}"
    signature = hmac.new(settings.JANUS_TOKEN_SECRET.encode(), data.encode(), hashlib.sha1).digest()
    return f"{data}:{base64.b64encode(signature).decode('ascii')}"


def _derived(*parts) -> str:
    message = ":".join(str(part) for part in parts).encode()
    return hmac.new(settings.JANUS_TOKEN_SECRET.encode(), message, hashlib.sha256).hexdigest()[:40]


def room_number(room_id: int) -> int:
    return int(room_id)


def room_secret(room_uid) -> str:
    """The Janus room's own secret (edit, allow, kick, destroy): derived, so nothing more is stored."""
    return _derived("room-secret", room_uid)


def access_token(*, room_uid, participant) -> str:
    """One admission's token on the room's access list: a new admission after a removal gets a new one."""
    return _derived("access", room_uid, participant.pk, participant.admitted_at.isoformat())


def display_of(user_id: int, connection_uid: str) -> str:
    """The feed's display: who sends it, from which connection (the room's page maps it to a tile)."""
    return f"{user_id}:{connection_uid}"


class Session:
    """One Janus session with the VideoRoom plugin attached, for the hub's own requests."""

    def __init__(self, *, timeout: float | None = None):
        self.base = settings.JANUS_API_URL.rstrip("/")
        self.timeout = timeout or settings.JANUS_TIMEOUT_SECONDS
        self.token = signed_token(ttl=120)
        self.session = self.handle = None
        self.client = httpx.Client(timeout=self.timeout, follow_redirects=False)

    def _post(self, path: str, body: dict) -> dict:
        body = {"transaction": secrets.token_hex(8), "token": self.token, **body}
        try:
            response = self.client.post(self.base + path, json=body)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise JanusError(f"Janus at {self.base}: {exc}") from exc
        if answer.get("janus") == "error":
            error = answer.get("error") or {}
            raise JanusError(f"Janus: {error.get('reason')}", code=error.get("code"))
        return answer

    def __enter__(self) -> Session:
        try:
            self.session = self._post("", {"janus": "create"})["data"]["id"]
            self.handle = self._post(f"/{self.session}", {"janus": "attach", "plugin": PLUGIN})["data"]["id"]
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.session is not None:
                self._post(f"/{self.session}", {"janus": "destroy"})
        except JanusError:
            pass  # the session times out on its own
        finally:
            self.client.close()

    def request(self, body: dict, *, ok: tuple[int, ...] = ()) -> dict:
        """A synchronous VideoRoom request; its answer, or ``JanusError`` (unless its code is in ``ok``)."""
        answer = self._post(f"/{self.session}/{self.handle}", {"janus": "message", "body": body})
        data = (answer.get("plugindata") or {}).get("data") or {}
        code = data.get("error_code")
        if code and code not in ok:
            raise JanusError(f"Janus VideoRoom: {data.get('error')}", code=code)
        return data


def room_ensure(*, room_id: int, room_uid, description: str, tokens: list[str]) -> None:
    """The consultation's Janus room, created if it is not there yet, with ``tokens`` on its access list."""
    secret = room_secret(room_uid)
    with Session() as janus:
        janus.request(
            {
                "request": "create",
                "room": room_number(room_id),
                "admin_key": settings.JANUS_ADMIN_KEY,
                "permanent": False,
                "is_private": True,
                "description": description[:100],
                "secret": secret,
                "allowed": tokens,
                "publishers": PUBLISHERS,
                "bitrate": VIDEO_BITRATE,
                "fir_freq": 10,
                "audiocodec": "opus",
                "videocodec": "vp8,h264",  # H.264 for Safari on iOS when it cannot send VP8
                "opus_fec": True,
                "require_pvtid": True,  # a subscription belongs to a publisher of the same browser
                "notify_joining": True,
            },
            ok=(ROOM_EXISTS,),
        )
        janus.request(
            {"request": "allowed", "room": room_number(room_id), "secret": secret, "action": "add", "allowed": tokens}
        )


def access_revoke(*, room_id: int, room_uid, tokens: list[str], user_id: int) -> int:
    """Take ``tokens`` off the room's list and kick the user's feeds; the number kicked."""
    secret, number = room_secret(room_uid), room_number(room_id)
    with Session() as janus:
        answer = janus.request(
            {"request": "allowed", "room": number, "secret": secret, "action": "remove", "allowed": tokens},
            ok=(NO_SUCH_ROOM,),
        )
        if answer.get("error_code") == NO_SUCH_ROOM:
            return 0
        listed = janus.request({"request": "listparticipants", "room": number}, ok=(NO_SUCH_ROOM,))
        kicked = 0
        for feed in listed.get("participants") or []:
            if str(feed.get("display") or "").split(":", 1)[0] == str(user_id):
                janus.request(
                    {"request": "kick", "room": number, "secret": secret, "id": feed["id"]},
                    ok=(NO_SUCH_ROOM, NO_SUCH_FEED),
                )
                kicked += 1
        return kicked


def room_destroy(*, room_id: int, room_uid) -> None:
    with Session() as janus:
        janus.request(
            {"request": "destroy", "room": room_number(room_id), "secret": room_secret(room_uid)}, ok=(NO_SUCH_ROOM,)
        )


# --- the outbox's handlers ---------------------------------------------------------------------------------------


def revoke_send(message) -> dict:
    payload = message.payload
    kicked = access_revoke(
        room_id=payload["room"], room_uid=payload["uid"], tokens=payload["tokens"], user_id=payload["user"]
    )
    return {"kicked": kicked}


def close_send(message) -> dict:
    room_destroy(room_id=message.payload["room"], room_uid=message.payload["uid"])
    return {}


def handlers_register() -> None:
    from federation.outbox.registry import handler_register

    handler_register(SFU_REVOKE_KIND, send=revoke_send)
    handler_register(SFU_CLOSE_KIND, send=close_send)
