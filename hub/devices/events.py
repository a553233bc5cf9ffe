"""The one module through which live device data reaches viewers: Channels groups per patient.

With the in-memory layer (no ``REDIS_URL``) the viewers' queues belong to the event loop that serves their
websockets, so frames are handed to that loop (registered by the first viewer); with Redis, through the
notifications' publisher loop (one Redis connection pool per process).
"""

from __future__ import annotations

import asyncio
import logging

from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)
_viewer_loop: asyncio.AbstractEventLoop | None = None
PUBLISH_TIMEOUT = 5.0


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
    from hub.notifications.delivery import publisher

    try:
        publisher.run(coroutine, timeout=PUBLISH_TIMEOUT)
    except Exception:
        logger.exception("device frame for %s not published", patient_ref)
