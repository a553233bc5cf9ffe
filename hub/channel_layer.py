"""The hub's channel layer with Redis: publish/subscribe (``channels_redis.pubsub``), made safe to connect to while
Redis is away.

Why publish/subscribe: a group message is one ``PUBLISH``, which Redis pushes once to each server process with a
member in the group; the process hands it to its members' queues. The list-based ``channels_redis.core`` layer
stores one copy per member, and each process takes them off one Redis round trip at a time: at 50 rooms of 10
people (``bench/rooms.py``) that queue fell 18 s behind while the server's CPU was half idle.

Delivery is at most once, as it was with the lists when Redis restarted. What a socket must not miss is in the
database and caught up from there: a room's log by sequence number (the browser asks for a gap), notifications by
id (each socket re-reads the database every ``NOTIFICATION_RESYNC_SECONDS``); live vitals are live only.

Two changes to the library's layer:

- Redis publish/subscribe channels are global to a Redis server, not per database number. The channel names carry
  the database number of ``REDIS_URL`` (in ``hub.settings``), so hubs (or test runs) sharing one Redis server on
  different database numbers never hear each other's rooms.
- A socket opening while Redis is away: the library subscribes the consumer's own channel as the socket opens and
  fails the handshake (a 500) when Redis does not answer. Here the channel is created at once and subscribed the
  next time the consumer joins a group (which fails, and is retried by the consumer, until Redis is back), as with
  the list-based layer, whose channel names need no Redis at all.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.utils import _wrap_close
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class _LoopLayer(RedisPubSubLoopLayer):
    """One event loop's connections (the library's), with the channel subscribed late when Redis was away."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unsubscribed: set[str] = set()

    async def new_channel(self, prefix="specific."):
        channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
        self.channels[channel] = asyncio.Queue()
        try:
            await self._get_shard(channel).subscribe(channel)
        except (RedisError, OSError) as error:
            logger.warning("channel layer: Redis away (%r); the socket's channel is subscribed when it is back", error)
            self.unsubscribed.add(channel)
        return channel

    async def group_add(self, group, channel):
        if channel in self.unsubscribed:
            await self._get_shard(channel).subscribe(channel)  # raises while Redis is away, as group_add does
            self.unsubscribed.discard(channel)
        await super().group_add(group, channel)

    async def receive(self, channel):
        try:
            return await super().receive(channel)
        except BaseException:
            if channel not in self.channels:  # the consumer is gone: the library has forgotten the channel
                self.unsubscribed.discard(channel)
            raise


class HubChannelLayer(RedisPubSubChannelLayer):
    """``channels_redis.pubsub.RedisPubSubChannelLayer`` whose per-loop layers are ``_LoopLayer``."""

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer
