"""The live notification feed: authenticate, join the user's group, forward events, and miss nothing.

- ``?since=<id>`` on the URL, or a ``{"type": "resume", "since": <id>}`` message, replays the user's
  notifications after the last id the client saw (oldest first). A client that has seen none yet connects
  with ``?hello=1`` and is told the latest id (``{"type": "hello", "last_id": ...}``) to resume from later.
- Every notification carries its ``id``; the consumer sends each id once (the client deduplicates too).
- Redis is the fast path, not the only one: every ``NOTIFICATION_RESYNC_SECONDS`` the consumer reads the
  user's notifications it has not sent from the database (and joins its group again: a restarted Redis
  forgets groups), and a channel layer that fails is retried, not fatal to the socket.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from django.conf import settings

from hub.notifications.message import user_group
from hub.notifications.selectors import last_notification_id, notifications_after
from hub.websockets import JsonConsumer, db

logger = logging.getLogger(__name__)
UNAUTHENTICATED = 4401
LAYER_TIMEOUT = 2.0
SENT_KEPT = 2000  # ids remembered for deduplication


def _since(raw) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 <= value < 2**63 else None


class NotificationConsumer(JsonConsumer):
    @property
    def channel_receive(self):
        return self._channel_receive

    @channel_receive.setter
    def channel_receive(self, receive) -> None:
        """Channels sets this to the layer's receive: a Redis that drops or restarts is waited out, not fatal."""

        async def resilient():
            delay = 0.5
            while True:
                try:
                    return await receive()
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # the layer's server is unreachable: the database poll covers meanwhile
                    logger.warning("notification socket: channel layer unavailable (%r)", error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)

        self._channel_receive = resilient

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.group = user_group(user.pk)
        self.sent: set[int] = set()
        await self._join()
        await self.accept()
        query = parse_qs((self.scope.get("query_string") or b"").decode("latin1"))
        since = _since((query.get("since") or [None])[0])
        if since is None:
            self.floor = await db(last_notification_id)(user_id=self.user_id)
            if "hello" in query:  # a client that has seen nothing yet learns where "now" is, to resume from it
                await self.send_json({"type": "hello", "last_id": self.floor})
        else:
            self.floor = since
            await self._catch_up()
        self.poller = asyncio.ensure_future(self._poll())

    async def disconnect(self, code):
        poller = getattr(self, "poller", None)
        if poller:
            poller.cancel()
        if getattr(self, "group", None):
            try:
                await asyncio.wait_for(self.channel_layer.group_discard(self.group, self.channel_name), LAYER_TIMEOUT)
            except Exception:  # noqa: S110 - the group expires by itself
                pass

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "resume":
            since = _since(content.get("since"))
            if since is None:
                await self.send_json({"type": "error", "error": "invalid", "detail": "since: a notification id"})
                return
            self.floor = min(self.floor, since)
            await self._catch_up(since=since)
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "error": "invalid", "detail": "unknown message type"})

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
        except ValueError:  # not JSON
            await self.send_json({"type": "error", "error": "invalid", "detail": "a JSON object"})

    async def notify(self, event):
        await self._send(event["message"])

    async def _send(self, message: dict) -> None:
        notification_id = message.get("id")
        if notification_id is not None:
            if notification_id in self.sent:
                return
            self.sent.add(notification_id)
            if len(self.sent) > SENT_KEPT:
                self.sent = set(sorted(self.sent)[-SENT_KEPT // 2 :])
                self.floor = max(self.floor, min(self.sent) - 1)
        await self.send_json(message)

    async def _catch_up(self, since: int | None = None) -> None:
        after = self.floor if since is None else since
        missed = await db(notifications_after)(
            user_id=self.user_id, after=after, exclude=frozenset(i for i in self.sent if i > after)
        )
        for message in missed:
            await self._send(message)

    async def _join(self) -> None:
        try:
            await asyncio.wait_for(self.channel_layer.group_add(self.group, self.channel_name), LAYER_TIMEOUT)
        except Exception as error:  # Redis unreachable: accept anyway, the poll delivers and joins again later
            logger.warning("notification socket: could not join %s (%r)", self.group, error)

    async def _poll(self) -> None:
        interval = float(getattr(settings, "NOTIFICATION_RESYNC_SECONDS", 15))
        while True:
            await asyncio.sleep(interval)
            try:
                await self._join()
                await self._catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("notification socket: catching up failed")
