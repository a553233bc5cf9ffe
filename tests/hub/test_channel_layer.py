"""The hub's Redis channel layer (publish/subscribe) against the real Redis: groups reach every member once,
hubs on other database numbers of the same server hear nothing, and a socket can open while Redis is away."""

from __future__ import annotations

import asyncio
import os
import socket
from urllib.parse import urlsplit, urlunsplit

import pytest

from hub.channel_layer import HubChannelLayer
from hub.env import redis_database

pytestmark = pytest.mark.redis
REDIS_URL = os.environ.get("REDIS_URL", "")


def layer_for(url: str) -> HubChannelLayer:
    """As ``hub.settings`` builds it for ``url``."""
    return HubChannelLayer(hosts=[{"address": url, "socket_timeout": 15}], prefix=f"test.db{redis_database(url)}.")


def other_database(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{(redis_database(url) + 1) % 16}"))


@pytest.fixture
def redis_url():
    if not REDIS_URL.startswith("redis"):
        pytest.skip("needs REDIS_URL")
    return REDIS_URL


async def test_a_group_message_reaches_each_member_once_and_no_hub_on_another_database(redis_url):
    ours, theirs = layer_for(redis_url), layer_for(other_database(redis_url))
    members = [await ours.new_channel() for _ in range(3)]
    stranger = await theirs.new_channel()
    for channel in members:
        await ours.group_add("room.1", channel)
    await theirs.group_add("room.1", stranger)  # the same group name, in a hub on another database number
    await asyncio.sleep(0.2)  # Redis confirms subscriptions asynchronously
    await ours.group_send("room.1", {"type": "room.frame", "n": 1})
    for channel in members:
        message = await asyncio.wait_for(ours.receive(channel), 2)
        assert message == {"type": "room.frame", "n": 1}
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(theirs.receive(stranger), 0.5)
    with pytest.raises(TimeoutError):  # once each
        await asyncio.wait_for(ours.receive(members[0]), 0.3)
    await ours.flush()
    await theirs.flush()


async def test_a_socket_opens_while_redis_is_away_and_joining_a_group_says_so():
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    layer = layer_for(f"redis://127.0.0.1:{port}/0")
    channel = await layer.new_channel()  # the handshake is not refused
    assert channel.startswith("test.db0.specific.")
    with pytest.raises(Exception) as failure:  # noqa: PT011 - redis-py's connection error
        await layer.group_add("room.1", channel)
    assert "connect" in str(failure.value).lower()
    await layer.flush()
