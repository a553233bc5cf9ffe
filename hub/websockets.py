"""What the hub's websocket consumers share.

- ``db``: ORM work runs in a worker thread of the loop's pool (``database_sync_to_async`` with
  ``thread_sensitive=False``), not in the one thread Django's sync code otherwise shares: rooms, live vitals
  and notifications talk to the database often and must not queue behind each other. Each call closes stale
  connections before and after it (``database_sync_to_async`` does).
- ``JsonConsumer``: Channels (4.2 and later) runs ``close_old_connections`` in that one shared thread before
  *every* message a consumer handles (each frame from the browser, each group message to forward). Our
  consumers never touch the database in the event loop's thread, only through ``db``, so that hop does
  nothing for them, and at a room's or a ward's rate it puts every forwarded frame of the process in one queue
  behind one thread (two thread switches per frame; seen with py-spy in ``bench/rooms.py`` at 50 rooms of 10).
  ``JsonConsumer`` hands each message straight to its handler.
"""

from __future__ import annotations

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer


def db(function):
    """Run ``function`` (ORM work) in a worker thread."""
    return database_sync_to_async(function, thread_sensitive=False)


class JsonConsumer(AsyncJsonWebsocketConsumer):
    """A JSON websocket consumer whose database work goes through ``db`` only (see the module's docstring)."""

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
