"""The one module through which the room's services publish to the room's websockets, after commit.

Groups: ``room.<id>`` (every connection of the room), ``room.<id>.user.<user id>`` (one person's
connections: removal closes them) and ``room.<id>.conn.<connection uid>`` (one connection: signalling).
Nothing is sent for a write that rolls back.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from hub.notifications.delivery import PUBLISH_TIMEOUT, publisher

logger = logging.getLogger(__name__)


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def user_group(room_id: int, user_id: int) -> str:
    return f"room.{room_id}.user.{user_id}"


def connection_group(room_id: int, connection_uid: str) -> str:
    return f"room.{room_id}.conn.{connection_uid}"


def publish_now(messages: list[tuple[str, dict]]) -> None:
    """Send ``(group, message)`` pairs in order (the caller is synchronous code)."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send() -> None:
        for group, message in messages:
            await layer.group_send(group, message)

    try:
        if isinstance(layer, InMemoryChannelLayer):
            async_to_sync(send)()  # its queues belong to the consumers' event loop: send from there
        else:
            publisher.run(send(), timeout=PUBLISH_TIMEOUT)
    except Exception:  # a message lost here is replayed from the log on the next sync or reconnect
        logger.exception("room publish failed")


def publish_on_commit(messages: list[tuple[str, dict]]) -> None:
    transaction.on_commit(lambda: publish_now(messages), robust=True)


def frame_to_room(room_id: int, frame: dict) -> tuple[str, dict]:
    return room_group(room_id), {"type": "room.frame", "frame": frame}


def kick(room_id: int, user_id: int, code: int, frame: dict) -> tuple[str, dict]:
    """Close every connection of one person in the room, after sending them ``frame``."""
    return user_group(room_id, user_id), {"type": "room.kick", "code": code, "frame": frame}


def close_room(room_id: int, code: int, frame: dict) -> tuple[str, dict]:
    return room_group(room_id), {"type": "room.kick", "code": code, "frame": frame}
