"""County A's bedside monitor at bed 3 of the emergency ward, attached to a chest-pain patient whom Dr Li
referred to cardiologist Zhang."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from tests.factories import patient_resource
from tests.hub.referrals.conftest import store

MDC_HR, MDC_SPO2, MDC_ECG = "147842", "150456", "131330"


@pytest.fixture(autouse=True)
def _fresh_device_state(settings):
    """Each test starts with empty live buffers, accumulators and caches; summaries are flushed by the tests."""
    from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers

    from hub.devices import alarms
    from hub.devices.ingest import buffer, summaries
    from hub.devices.selectors import device_cache_clear

    channel_layers.backends[DEFAULT_CHANNEL_LAYER] = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    summaries.autoflush = False
    summaries.summaries_discard()
    buffer.buffer_clear()
    device_cache_clear()
    alarms.caches_clear()
    yield
    summaries.summaries_discard()
    device_cache_clear()
    alarms.caches_clear()


@pytest.fixture
def patient(county_a) -> dict:
    return store(patient_resource(11), owner="county-a")


@pytest.fixture
def other_patient(county_a) -> dict:
    return store(patient_resource(12), owner="county-a")


@pytest.fixture
def monitor(county_a):
    from hub.devices.services import device_register

    return device_register(
        site=county_a, key="mon-03", kind="monitor", manufacturer="Mindray", model_name="ePM 12", ward="急诊", bed="3"
    )


@pytest.fixture
def bound(monitor, patient, admin_of_county_a):
    from hub.devices.services import device_bind

    device_bind(device=monitor, patient_ref=f"Patient/{patient['id']}", user=admin_of_county_a)
    return monitor


@pytest.fixture
def referral(dr_li_at_county_a, cardiologist_zhang, patient):
    from tests.hub.consultations.conftest import consult

    return consult(dr_li_at_county_a, patient)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def vitals(hr: float = 72, spo2: float = 98, **extra) -> dict:
    body = {
        "time": now_iso(),
        "numerics": [{"code": MDC_HR, "value": hr, "unit": "/min"}, {"code": MDC_SPO2, "value": spo2, "unit": "%"}],
    }
    body.update(extra)
    return body


@pytest.fixture
def mqtt_url():
    url = os.environ.get("MQTT_URL")
    if not url:
        pytest.skip("needs MQTT_URL (a real MQTT broker)")
    return url


@pytest.fixture
def subscriber(mqtt_url, transactional_db):
    """The hub's subscriber on the real broker, with a client id of this test's own."""
    from hub.devices.ingest.mqtt import Subscriber

    sub = Subscriber(mqtt_url, client_id=f"hub-test-{os.getpid()}-{time.monotonic_ns()}").start()
    assert sub.connected.wait(10), "the subscriber did not connect"
    time.sleep(0.2)  # the SUBSCRIBE is acknowledged
    yield sub
    sub.stop()


@pytest.fixture
def gateway(mqtt_url):
    """A site gateway's MQTT client: ``publish(device_key, body)`` at QoS 1; ``errors`` collects NACKs."""
    from hub.devices.ingest.mqtt import client_for

    client, host, port = client_for(mqtt_url, f"gw-test-{os.getpid()}-{time.monotonic_ns()}")
    errors: list[dict] = []
    client.on_message = lambda c, u, m: errors.append(json.loads(m.payload))
    client.connect(host, port)
    client.subscribe("alliance/county-a/devices/+/errors", qos=1)
    client.loop_start()

    class Gateway:
        def publish(self, key: str, body, *, site: str = "county-a"):
            payload = body if isinstance(body, bytes) else json.dumps(body)
            info = client.publish(f"alliance/{site}/devices/{key}/vitals", payload, qos=1)
            info.wait_for_publish(5)

    Gateway.errors = errors
    yield Gateway()
    client.loop_stop()
    client.disconnect()


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


@pytest.fixture
async def viewer(token_for):
    """``await viewer(user, patient_id)``: an open live-view websocket (or its close code when refused)."""
    opened = []

    async def make(user, patient_id: str):
        from hub.asgi import application

        headers = await database_sync_to_async(token_for)(user)
        socket = WebsocketCommunicator(
            application,
            f"/ws/devices/patients/{patient_id}/",
            headers=[(b"origin", b"http://127.0.0.1"), (b"authorization", headers["HTTP_AUTHORIZATION"].encode())],
        )
        connected, code = await socket.connect(timeout=5)
        if not connected:
            return code
        opened.append(socket)
        return socket

    yield make
    for socket in opened:
        await socket.disconnect()
    await database_sync_to_async(connections.close_all)()


async def receive(socket, kind: str, timeout: float = 5) -> dict:
    while True:
        frame = await socket.receive_json_from(timeout=timeout)
        if frame.get("type") == kind:
            return frame
