"""The one module through which live device data reaches viewers: Channels groups per patient.

With the in-memory layer (no ``REDIS_URL``) the viewers' queues belong to the event loop that serves their
websockets, so frames are handed to that loop (registered by the first viewer); with Redis, through a
sender loop of this process, without waiting: a few senders, each patient's frames always through the same one
(in order), so that a burst never opens more sends than the layer's connection pool holds. When Redis falls
behind by more than ``QUEUE_LIMIT`` frames, the oldest waiting are dropped (counted): a live view wants now.
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
    group = patient_group(patient_ref)
    if isinstance(layer, InMemoryChannelLayer):
        loop = _viewer_loop
        if loop is not None and not loop.is_closed():
            asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
        return
    sender = _senders()
    sender.loop.call_soon_threadsafe(sender.put, hash(group) % SENDERS, layer, group, message)


SENDERS = 4  # queues of sends to Redis; a patient's frames always take the same one, so they stay in order
QUEUE_LIMIT = 5000  # frames waiting per sender before the oldest are dropped
dropped = 0  # frames dropped since start (Redis far behind)


class _Senders:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.queues: list[asyncio.Queue] = []
        threading.Thread(target=self.loop.run_forever, name="device-frames", daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> None:
        for _ in range(SENDERS):
            queue: asyncio.Queue = asyncio.Queue()
            self.queues.append(queue)
            asyncio.get_running_loop().create_task(self._send_all(queue))

    def put(self, index: int, layer, group: str, message: dict) -> None:  # in the loop's thread
        global dropped
        queue = self.queues[index]
        if queue.qsize() >= QUEUE_LIMIT:
            queue.get_nowait()
            dropped += 1
        queue.put_nowait((layer, group, message))

    async def _send_all(self, queue: asyncio.Queue) -> None:
        while True:
            layer, group, message = await queue.get()
            try:
                await layer.group_send(group, message)
            except Exception as error:  # Redis away: this frame is lost to live viewers (the buffer keeps it)
                logger.error("device frame not published: %r", error)


_sender: _Senders | None = None
_pid = 0
_lock = threading.Lock()


def _senders() -> _Senders:
    """One event loop per process, in a thread of its own, for the Redis layer's sends."""
    global _sender, _pid
    if _sender is None or _pid != os.getpid():
        with _lock:
            if _sender is None or _pid != os.getpid():
                _sender, _pid = _Senders(), os.getpid()
    return _sender
