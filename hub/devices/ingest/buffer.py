"""The bounded live buffer of each device's frames: a Redis stream (``XADD ... MAXLEN ~``) when ``REDIS_URL``
is set, a deque in this process otherwise. Viewers start from it; strips are cut from it."""

from __future__ import annotations

import json
import threading
from collections import deque

from django.conf import settings

_memory: dict[int, deque] = {}
_lock = threading.Lock()
_client = None


def _redis():
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    return _client


def _key(device_id: int) -> str:
    return f"hub:devices:live:{device_id}"


def buffer_append(device_id: int, frame: dict) -> None:
    size = settings.DEVICES_BUFFER_FRAMES
    if settings.REDIS_URL:
        _redis().xadd(_key(device_id), {"f": json.dumps(frame, separators=(",", ":"))}, maxlen=size, approximate=True)
        return
    with _lock:
        _memory.setdefault(device_id, deque(maxlen=size)).append(frame)


def buffer_recent(device_id: int, count: int) -> list[dict]:
    """The newest ``count`` frames, oldest first."""
    if settings.REDIS_URL:
        entries = _redis().xrevrange(_key(device_id), count=count)
        return [json.loads(fields[b"f"]) for _id, fields in reversed(entries)]
    with _lock:
        frames = list(_memory.get(device_id, ()))
    return frames[-count:]


def buffer_clear() -> None:
    """Tests: forget every buffered frame."""
    with _lock:
        _memory.clear()
    if settings.REDIS_URL:
        client = _redis()
        for key in client.scan_iter("hub:devices:live:*"):
            client.delete(key)
