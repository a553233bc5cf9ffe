"""The hub's MQTT subscriber: ``alliance/<site>/devices/<device>/vitals`` at QoS 1, one persistent session
(a fixed client id, ``clean_session=False``) so that the broker keeps what arrives while the hub is away and
hands it over when it is back; paho reconnects by itself. A refused message is answered on
``alliance/<site>/devices/<device>/errors`` (``{"error": reason, "detail": ...}``)."""

from __future__ import annotations

import json
import logging
import threading
from urllib.parse import urlsplit

from hub.devices.constants import IngestPath
from hub.env import env_str

logger = logging.getLogger(__name__)
TOPIC = "alliance/+/devices/+/vitals"


def topic_parts(topic: str) -> tuple[str, str] | None:
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "alliance" or parts[2] != "devices" or parts[4] != "vitals":
        return None
    return parts[1], parts[3]


def client_for(url: str, client_id: str, *, clean_session: bool = True):
    """A paho client set up for ``url`` (``mqtt://user:pass@host:port``); not connected."""
    import paho.mqtt.client as mqtt

    parts = urlsplit(url)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session, protocol=mqtt.MQTTv311
    )
    if parts.username:
        client.username_pw_set(parts.username, parts.password)
    if parts.scheme == "mqtts":
        client.tls_set()
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    return client, parts.hostname or "127.0.0.1", parts.port or (8883 if parts.scheme == "mqtts" else 1883)


class Subscriber:
    """Subscribes, hands each message to the pipeline in paho's network thread, answers refusals."""

    def __init__(self, url: str, *, client_id: str | None = None):
        self.url = url
        self.client_id = client_id or env_str("HUB_DEVICES_MQTT_CLIENT_ID", "alliance-hub-devices")
        self.client, self.host, self.port = client_for(url, self.client_id, clean_session=False)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.connected = threading.Event()
        self.received = 0
        self.refused = 0

    def start(self) -> Subscriber:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        from django.db import connection

        connection.close()

    def _on_connect(self, client, userdata, flags, reason_code, properties=None):
        if reason_code.is_failure:
            logger.warning("MQTT: connection refused: %s", reason_code)
            return
        client.subscribe(TOPIC, qos=1)
        self.connected.set()
        logger.info(
            "MQTT: subscribed to %s at %s:%s (session present: %s)", TOPIC, self.host, self.port, flags.session_present
        )

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None):
        from django.db import connection

        connection.close()  # this network thread's database connection: not held while away
        self.connected.clear()
        logger.warning("MQTT: disconnected (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        from hub.devices.ingest.pipeline import Refusal, connection_ready, message_from_json, message_ingest

        self.received += 1
        where = topic_parts(message.topic)
        if where is None:
            return
        site, device = where
        connection_ready()
        try:
            message_ingest(
                message_from_json(payload=message.payload, site_code=site, device_key=device, path=IngestPath.MQTT)
            )
        except Refusal as refusal:
            self.refused += 1
            answer = json.dumps({"error": refusal.reason, "detail": refusal.detail})
            client.publish(f"alliance/{site}/devices/{device}/errors", answer, qos=1)
        except Exception:  # a database hiccup: logged; the device's next message is taken as usual
            logger.exception("MQTT: message from %s/%s not recorded", site, device)
