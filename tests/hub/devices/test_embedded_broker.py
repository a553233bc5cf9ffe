"""With no MQTT_URL the hub runs amqtt itself: the hub's subscriber logs in with its own password, a site's
gateway with the site's MQTT credentials from the registry and only on its own site's topics."""

from __future__ import annotations

import json

import pytest

from hub.devices.ingest.buffer import buffer_recent
from tests.conftest import free_port
from tests.hub.devices.conftest import vitals, wait_for


@pytest.fixture
def embedded(transactional_db):
    from hub.devices.ingest.broker import EmbeddedBroker

    broker = EmbeddedBroker(port=free_port()).start()
    yield broker
    broker.stop()


def gateway_client(url: str, client_id: str):
    from hub.devices.ingest.mqtt import client_for

    client, host, port = client_for(url, client_id)
    client.reconnect_delay_set(1, 1)
    return client, host, port


def test_a_site_gateway_publishes_through_the_embedded_broker(embedded, bound, county_a, county_b):
    from hub.devices.ingest.mqtt import Subscriber
    from hub.devices.services import mqtt_credential_set

    mqtt_credential_set(site=county_a, username="gw-a", password="secret-a")
    mqtt_credential_set(site=county_b, username="gw-b", password="secret-b")
    subscriber = Subscriber(embedded.url, client_id="hub-embedded").start()
    try:
        assert subscriber.connected.wait(10)
        client, host, port = gateway_client(f"mqtt://gw-a:secret-a@127.0.0.1:{embedded.port}", "gw-a-1")
        assert client.connect(host, port) == 0
        client.loop_start()
        client.publish("alliance/county-a/devices/mon-03/vitals", json.dumps(vitals(hr=71)), qos=1).wait_for_publish(5)
        frames = wait_for(lambda: buffer_recent(bound.pk, 5))
        assert frames[-1]["numerics"]["hr"] == 71
        client.loop_stop()
        client.disconnect()

        # county B's gateway may not speak for county A's devices
        other, host, port = gateway_client(f"mqtt://gw-b:secret-b@127.0.0.1:{embedded.port}", "gw-b-1")
        other.connect(host, port)
        other.loop_start()
        other.publish("alliance/county-a/devices/mon-03/vitals", json.dumps(vitals(hr=55)), qos=1)
        import time

        time.sleep(1.0)
        assert all(f["numerics"]["hr"] != 55 for f in buffer_recent(bound.pk, 5))
        other.loop_stop()
        other.disconnect()
    finally:
        subscriber.stop()


def test_a_wrong_password_is_refused(embedded, county_a):
    import paho.mqtt.client as mqtt

    from hub.devices.services import mqtt_credential_set

    mqtt_credential_set(site=county_a, username="gw-a", password="secret-a")
    client, host, port = gateway_client(f"mqtt://gw-a:wrong@127.0.0.1:{embedded.port}", "gw-a-2")
    refused = []
    client.on_connect = lambda c, u, f, reason, p=None: refused.append(reason.is_failure)
    client.connect(host, port)
    client.loop_start()
    wait_for(lambda: refused)
    client.loop_stop()
    assert refused[0] is True
    assert mqtt  # the client library is real
