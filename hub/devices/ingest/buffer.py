"""The bounded live buffer of each device's frames: a Redis stream (``XADD ... MAXLEN ~``) when ``REDIS_URL``
is set, a deque in this process otherwise. Viewers start from it; strips are cut from it."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import deque

from django.conf import settings

logger = logging.getLogger(__name__)

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


class _Writer:
    """The ``XADD``s of one process, written by one thread: whatever queued up while the last write was on its
    way goes in the next pipeline (one round trip for many frames when the ingest is busy, no wait when it is
    not). Frames are the live view's copy only; the persisted summaries and alarms do not depend on them."""

    BATCH = 500

    def __init__(self):
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.done = threading.Condition()
        self.queued = self.written = self.batches = 0
        self.thread: threading.Thread | None = None

    def put(self, key: str, data: str, size: int) -> None:
        with self.done:
            self.queued += 1
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.run, name="devices-buffer", daemon=True)
                self.thread.start()
        self.queue.put((key, data, size))

    def run(self) -> None:
        while True:
            batch = [self.queue.get()]
            while len(batch) < self.BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                pipe = _redis().pipeline(transaction=False)
                for key, data, size in batch:
                    pipe.xadd(key, {"f": data}, maxlen=size, approximate=True)
                pipe.execute()
            except Exception:  # Redis away: the live copy of these frames is lost, the ingest goes on
                logger.warning("live buffer: %d frames not written", len(batch), exc_info=True)
            with self.done:
                self.written += len(batch)
                self.batches += 1
                self.done.notify_all()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until what this process queued so far is written (for readers in the same process)."""
        with self.done:
            target = self.queued
            self.done.wait_for(lambda: self.written >= target, timeout)


_writer = _Writer()
buffer_flush = _writer.flush


def buffer_append(device_id: int, frame: dict) -> None:
    size = settings.DEVICES_BUFFER_FRAMES
    if settings.REDIS_URL:
        _writer.put(_key(device_id), json.dumps(frame, separators=(",", ":")), size)
        return
    with _lock:
        _memory.setdefault(device_id, deque(maxlen=size)).append(frame)


def buffer_recent(device_id: int, count: int) -> list[dict]:
    """The newest ``count`` frames, oldest first."""
    if settings.REDIS_URL:
        _writer.flush()
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
        _writer.flush()
        client = _redis()
        for key in client.scan_iter("hub:devices:live:*"):
            client.delete(key)
