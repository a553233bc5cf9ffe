"""The live buffer on Redis: frames appended from several ingest threads at once land whole and in order per
device (written in pipelines by the process's one writer), a reader in the same process sees what was appended
before it asked, and Redis going away loses the live copy only, never the ingest."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings

from hub.devices.ingest import buffer


@pytest.fixture
def redis_buffer():
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (the live buffer on Redis)")
    devices = [990_001, 990_002, 990_003]
    client = buffer._redis()
    for device in devices:
        client.delete(buffer._key(device))
    yield devices
    for device in devices:
        client.delete(buffer._key(device))


def test_frames_from_several_threads_land_whole_and_in_order(redis_buffer, settings):
    settings.DEVICES_BUFFER_FRAMES = 5000
    per_device = 1500

    def ingest(device):
        for n in range(per_device):
            buffer.buffer_append(device, {"n": n, "waves": {}})

    batches_before, written_before = buffer._writer.batches, buffer._writer.written
    threads = [threading.Thread(target=ingest, args=(d,)) for d in redis_buffer]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for device in redis_buffer:
        # No flush first: the reader's own call waits for what this process queued before it.
        frames = buffer.buffer_recent(device, per_device)
        assert [f["n"] for f in frames] == list(range(per_device)), device
    # Many frames per round trip: fewer pipelines than frames.
    assert buffer._writer.written - written_before == 3 * per_device
    assert buffer._writer.batches - batches_before < 3 * per_device / 2


def test_redis_away_loses_the_live_copy_not_the_ingest(redis_buffer, settings):
    client = buffer._redis()
    buffer.buffer_append(redis_buffer[0], {"n": 1})
    buffer.buffer_flush()
    buffer._client = __import__("redis").Redis(host="127.0.0.1", port=1, socket_timeout=1)  # nothing listens
    try:
        buffer.buffer_append(redis_buffer[0], {"n": 2})  # no exception reaches the ingest
        buffer.buffer_flush()
    finally:
        buffer._client = client
    buffer.buffer_append(redis_buffer[0], {"n": 3})
    assert [f["n"] for f in buffer.buffer_recent(redis_buffer[0], 10)] == [1, 3]
