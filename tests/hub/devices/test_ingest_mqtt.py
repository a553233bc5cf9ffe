"""Through the real broker (Mosquitto at MQTT_URL): a gateway publishes at QoS 1, the hub's subscriber records
what is good and answers what is not on the device's errors topic; nothing of a refused message is stored; the
subscriber's session survives its absence (the broker keeps QoS 1 messages for it)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from hub.devices.ingest.buffer import buffer_recent
from hub.devices.ingest.summaries import summaries_flush, summaries_pending
from hub.devices.models import Device, Rejection, Summary
from tests.hub.devices.conftest import MDC_HR, vitals, wait_for

pytestmark = pytest.mark.mqtt


def test_a_published_message_is_recorded_and_summarised(subscriber, gateway, bound, patient):
    for hr in (70, 80, 90):
        gateway.publish("mon-03", vitals(hr=hr))
    frames = wait_for(lambda: len(buffer_recent(bound.pk, 10)) == 3 and buffer_recent(bound.pk, 10))
    assert [f["numerics"]["hr"] for f in frames] == [70, 80, 90]
    wait_for(lambda: summaries_pending() == 6)  # heart rate and SpO2 of each
    summaries_flush(everything=True)
    row = Summary.objects.get(device=bound, parameter="hr")
    assert (row.minimum, row.median, row.maximum, row.count) == (70, 80, 90, 3)
    assert row.patient_ref == f"Patient/{patient['id']}"


@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        ("mon-03", b"{not json", "malformed"),
        ("mon-03", {"time": "yesterday", "numerics": []}, "malformed"),
        ("nobody", vitals(), "unknown_device"),
        ("mon-03", vitals(extra=1) | {"numerics": [{"code": "999999", "value": 1}]}, "unknown_code"),
        ("mon-03", vitals(hr=900), "impossible_value"),
        ("mon-03", vitals() | {"numerics": [{"code": MDC_HR, "value": 70, "unit": "mmHg"}]}, "unit"),
        ("mon-03", vitals() | {"time": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}, "clock"),
        ("mon-03", vitals() | {"technical": ["overheated"]}, "unknown_code"),
    ],
)
def test_bad_input_is_answered_counted_and_stores_nothing(subscriber, gateway, bound, key, body, reason):
    gateway.publish(key, body)
    nack = wait_for(lambda: gateway.errors and gateway.errors[-1])
    assert nack["error"] == reason
    rejection = Rejection.objects.get()
    assert rejection.reason == reason and rejection.path == "mqtt"
    if key == "mon-03":
        assert Device.objects.get(pk=bound.pk).rejected == 1
    assert buffer_recent(bound.pk, 10) == []
    summaries_flush(everything=True)
    assert not Summary.objects.exists()


def test_the_subscriber_gets_what_was_published_while_it_was_away(mqtt_url, transactional_db, gateway, bound):
    from hub.devices.ingest.mqtt import Subscriber

    client_id = f"hub-resume-{os.getpid()}-{time.monotonic_ns()}"
    first = Subscriber(mqtt_url, client_id=client_id).start()
    assert first.connected.wait(10)
    time.sleep(0.2)
    first.stop()  # the hub goes away; its persistent session stays at the broker
    for hr in (61, 62, 63):
        gateway.publish("mon-03", vitals(hr=hr))
    second = Subscriber(mqtt_url, client_id=client_id).start()
    try:
        frames = wait_for(lambda: len(buffer_recent(bound.pk, 10)) == 3 and buffer_recent(bound.pk, 10))
        assert sorted(f["numerics"]["hr"] for f in frames) == [61, 62, 63]
    finally:
        second.stop()
        # end the persistent session
        from hub.devices.ingest.mqtt import client_for

        client, host, port = client_for(mqtt_url, client_id, clean_session=True)
        client.connect(host, port)
        client.disconnect()


def test_the_subscriber_reconnects_when_the_broker_comes_back(transactional_db, bound, tmp_path):
    """A broker of the test's own (the mosquitto binary) stopped and started again on the same port."""
    import shutil
    import subprocess

    from tests.conftest import free_port

    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        pytest.skip("mosquitto is not installed")
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")

    def broker():
        return subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    from hub.devices.ingest.mqtt import Subscriber, client_for

    url = f"mqtt://127.0.0.1:{port}"
    process = broker()
    time.sleep(0.5)
    subscriber = Subscriber(url, client_id="hub-reconnect").start()
    try:
        assert subscriber.connected.wait(10)
        process.terminate()
        process.wait(5)
        wait_for(lambda: not subscriber.connected.is_set())
        process = broker()
        assert subscriber.connected.wait(20), "the subscriber did not reconnect"
        time.sleep(0.3)
        client, host, p = client_for(url, "gw-reconnect")
        client.connect(host, p)
        client.loop_start()
        client.publish(
            "alliance/county-a/devices/mon-03/vitals", __import__("json").dumps(vitals(hr=99)), qos=1
        ).wait_for_publish(5)
        frames = wait_for(lambda: buffer_recent(bound.pk, 10))
        assert frames[-1]["numerics"]["hr"] == 99
        client.loop_stop()
        client.disconnect()
    finally:
        subscriber.stop()
        process.terminate()
        process.wait(5)
