"""What a browser needs to send and receive media: ICE servers with short-lived TURN credentials, and
access to the SFU (LiveKit or Janus, whichever is configured) for rooms larger than a mesh carries.

TURN credentials follow the TURN REST API convention that coturn implements (``use-auth-secret``):
the username is ``<expiry unix time>:<user id>`` and the password the base64 HMAC-SHA1 of the username
under the shared secret, so the hub and coturn share only the secret and no per-user state
(https://datatracker.ietf.org/doc/html/draft-uberti-behave-turn-rest-00). LiveKit access tokens are JWTs
signed with HS256 under the API secret, with a ``video`` grant for one room
(https://docs.livekit.io/home/get-started/authentication/).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from django.conf import settings

from hub.consultations import janus


def turn_credentials(*, user_id: int, now: float | None = None) -> tuple[str, str]:
    expiry = int((now or time.time()) + settings.TURN_CREDENTIAL_SECONDS)
    username = f"{expiry}:{user_id}"
    digest = hmac.new(settings.TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_servers(*, user_id: int, now: float | None = None) -> list[dict]:
    """The RTCPeerConnection ``iceServers``: STUN, then TURN (UDP, TCP and TLS on 443) with fresh credentials."""
    servers: list[dict] = []
    if settings.STUN_URLS:
        servers.append({"urls": list(settings.STUN_URLS)})
    if settings.TURN_URLS and settings.TURN_SECRET:
        username, credential = turn_credentials(user_id=user_id, now=now)
        servers.append({"urls": list(settings.TURN_URLS), "username": username, "credential": credential})
    return servers


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_hs256(claims: dict, secret: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def livekit_room_name(room) -> str:
    return f"consultation-{room.uid}"


def livekit_token(*, room, user, connection_uid: str = "", now: float | None = None) -> dict:
    """A LiveKit access token for one participant of one room: publish and subscribe, nothing else."""
    now = int(now or time.time())
    identity = f"{user.pk}:{connection_uid}" if connection_uid else str(user.pk)
    claims = {
        "iss": settings.LIVEKIT_API_KEY,
        "sub": identity,
        "nbf": now - 10,
        "exp": now + settings.LIVEKIT_TOKEN_SECONDS,
        "name": user.display_name or user.username,
        "metadata": json.dumps({"user": user.pk, "connection": connection_uid}),
        "video": {
            "room": livekit_room_name(room),
            "roomJoin": True,
            "canPublish": True,
            "canSubscribe": True,
            "canPublishData": True,
        },
    }
    return {"url": settings.LIVEKIT_URL, "token": jwt_hs256(claims, settings.LIVEKIT_API_SECRET)}


def sfu_server() -> str:
    """The SFU the deployment names: ``livekit``, ``janus``, or ``""`` (mesh only)."""
    return "livekit" if settings.LIVEKIT_URL else "janus" if settings.JANUS_URL else ""


def janus_access(*, room, participant, user, connection_uid: str, now: float | None = None) -> dict:
    """The Janus room made ready for this participant (created if need be, their access token on its list),
    and what their browser joins it with."""
    access = janus.access_token(room_uid=room.uid, participant=participant)
    janus.room_ensure(room_id=room.pk, room_uid=room.uid, description=f"consultation {room.uid}", tokens=[access])
    return {
        "url": settings.JANUS_URL,
        "token": janus.signed_token(ttl=settings.JANUS_TOKEN_SECONDS, now=now),
        "room": janus.room_number(room.pk),
        "access": access,
        "display": janus.display_of(user.pk, connection_uid),
    }


def sfu_access(*, room, participant, user, connection_uid: str) -> dict:
    """The ``sfu`` frame's body for one connection of an admitted participant."""
    server = sfu_server()
    if server == "livekit":
        return {"server": server, **livekit_token(room=room, user=user, connection_uid=connection_uid)}
    return {
        "server": server,
        **janus_access(room=room, participant=participant, user=user, connection_uid=connection_uid),
    }


def media_config(*, room, user) -> dict:
    """The media part of the room's first frame."""
    return {
        "mode": room.media_mode,
        "ice_servers": ice_servers(user_id=user.pk),
        "sfu": sfu_server(),
    }
