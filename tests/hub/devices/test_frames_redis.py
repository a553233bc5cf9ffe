"""Live frames through the Redis channel layer: a burst from the ingest threads reaches a viewer whole and in order,
without opening more sends than the layer's connection pool holds."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from channels.layers import get_channel_layer

from hub.devices import events


def test_a_burst_of_frames_for_several_patients_reaches_each_viewer_in_order():
    layer = get_channel_layer()
    if type(layer).__name__ != "HubChannelLayer":
        pytest.skip("needs REDIS_URL (the Redis channel layer)")
    patients, per_patient = ["Patient/p1", "Patient/p2", "Patient/p3"], 400
    received: dict[str, list[int]] = {p: [] for p in patients}
    ready = threading.Event()

    async def view() -> None:
        viewer = get_channel_layer()  # a layer of this loop's own, as a server process has
        channels = {}
        for patient in patients:
            channels[patient] = await viewer.new_channel()
            await viewer.group_add(events.patient_group(patient), channels[patient])
        ready.set()

        async def read(patient):
            while len(received[patient]) < per_patient:
                message = await asyncio.wait_for(viewer.receive(channels[patient]), 20)
                received[patient].append(message["frame"]["n"])

        await asyncio.gather(*(read(p) for p in patients))

    reader = threading.Thread(target=lambda: asyncio.run(view()))
    reader.start()
    assert ready.wait(10)
    errors = []
    handler = _Collect(errors)
    events.logger.addHandler(handler)
    try:
        for n in range(per_patient):  # as fast as the ingest threads can
            for patient in patients:
                events.frame_publish(patient_ref=patient, frame={"n": n})
        reader.join(60)
    finally:
        events.logger.removeHandler(handler)
    assert not errors, errors[:3]
    for patient in patients:
        assert received[patient] == list(range(per_patient)), patient


class _Collect(logging.Handler):
    def __init__(self, errors):
        super().__init__()
        self.errors = errors

    def emit(self, record):
        self.errors.append(record.getMessage())
