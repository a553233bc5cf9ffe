"""The one module through which live device data reaches viewers: Channels groups per patient.

With the in-memory layer (no ``REDIS_URL``) the viewers' queues belong to the event loop that serves their
websockets, so frames are handed to that loop (registered by the first viewer); with Redis, through a
sender loop of this process (one Redis connection pool), without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)
_viewer_loop: asyncio.AbstractEventLoop | None = None


def patient_group(patient_ref: str) -> str:
    return "devices.patient." + patient_ref.partition("/")[2][:64]


def viewer_loop_register(loop: asyncio.AbstractEventLoop) -> None:
    global _viewer_loop
    _viewer_loop = loop


def frame_publish(*, patient_ref: str, frame: dict) -> None:
    """Send ``frame`` to every open live view of the patient (nothing waits for slow viewers)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "device.frame", "frame": frame}
    coroutine = layer.group_send(patient_group(patient_ref), message)
    if isinstance(layer, InMemoryChannelLayer):
        loop = _viewer_loop
        if loop is None or loop.is_closed():
            coroutine.close()
            return
        asyncio.run_coroutine_threadsafe(coroutine, loop)
        return
    future = asyncio.run_coroutine_threadsafe(coroutine, _sender_loop())  # not waited for: ingest goes on
    future.add_done_callback(_log_failure)


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("device frame not published: %r", future.exception())


_loop: asyncio.AbstractEventLoop | None = None
_pid = 0
_lock = threading.Lock()


def _sender_loop() -> asyncio.AbstractEventLoop:
    """One event loop per process, in a thread of its own, for the Redis layer's sends (one connection pool)."""
    global _loop, _pid
    if _loop is None or _pid != os.getpid():
        with _lock:
            if _loop is None or _pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="device-frames", daemon=True).start()
                _loop, _pid = loop, os.getpid()
    return _loop
