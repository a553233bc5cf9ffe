"""The device ingest of one process: the MQTT subscriber (to ``MQTT_URL``, or to an embedded amqtt broker when
none is configured), the HL7 v2 / MLLP listener and a housekeeping loop (offline devices, escalations,
retention, summaries). ``manage.py serve`` starts it in the hub's process; ``manage.py devices_ingest`` alone."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings

logger = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 10.0


@dataclass
class Ingest:
    broker: object | None = None
    subscriber: object | None = None
    mllp: object | None = None
    mqtt_url: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        from hub.devices.ingest.buffer import buffer_flush
        from hub.devices.ingest.summaries import summaries_flush

        self._stop.set()
        for part in (self.subscriber, self.mllp, self.broker):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    logger.exception("devices: %s did not stop cleanly", type(part).__name__)
        try:
            summaries_flush(everything=True)
        except Exception:
            logger.exception("devices: last summaries not written")
        buffer_flush()  # the live view's last frames


def _port_free(port: int) -> bool:
    """Whether 127.0.0.1:``port`` can be listened on now (asked first: amqtt logs a traceback when it cannot)."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ingest_start(
    *, mllp_port: int | None = None, embedded_port: int | None = None, housekeeping: bool = True
) -> Ingest:
    from hub.devices.ingest.mllp import MllpServer
    from hub.devices.ingest.mqtt import Subscriber

    ingest = Ingest()
    url = settings.MQTT_URL
    if not url:
        from hub.devices.ingest.broker import EmbeddedBroker

        first = settings.DEVICES_EMBEDDED_MQTT_PORT if embedded_port is None else embedded_port
        # the port asked for, else the next free ones (a broker already on 1883 must not leave the demo without
        # its monitors; the banner names the port taken)
        for port in range(first, first + 10):
            if port and not _port_free(port):
                logger.warning("devices: port %s is taken; the embedded MQTT broker tries the next", port)
                continue
            try:
                ingest.broker = EmbeddedBroker(port=port).start()
            except RuntimeError:
                logger.warning("devices: port %s is taken; the embedded MQTT broker tries the next", port)
                continue
            url = ingest.broker.url
            logger.info("devices: embedded MQTT broker (amqtt) on 127.0.0.1:%s", port)
            break
        else:  # the rest of the hub runs on without device data
            logger.error("devices: no embedded MQTT broker on 127.0.0.1:%s-%s (set HUB_DEVICES_MQTT_PORT)", first, port)
    _warm()
    if url:
        ingest.mqtt_url = url
        ingest.subscriber = Subscriber(url).start()
    port = settings.DEVICES_MLLP_PORT if mllp_port is None else mllp_port
    if port:
        try:
            ingest.mllp = MllpServer(host=settings.DEVICES_MLLP_HOST, port=port).start()
        except RuntimeError:
            logger.exception("devices: no MLLP listener on port %s (set HUB_DEVICES_MLLP_PORT)", port)
    if housekeeping:
        threading.Thread(target=_housekeeping, args=(ingest._stop,), name="devices-housekeeping", daemon=True).start()
    return ingest


def _warm() -> None:
    from hub.devices.caches import warm

    started = time.monotonic()
    try:
        count = warm()
    except Exception:  # the caches fill as the messages come instead
        logger.exception("devices: caches not loaded at start")
        return
    logger.info("devices: caches loaded for %d attached devices in %.1f s", count, time.monotonic() - started)


def _housekeeping(stop: threading.Event) -> None:
    from django.db import connection

    from hub.devices.alarms import housekeeping

    while not stop.wait(HOUSEKEEPING_SECONDS):
        try:
            housekeeping()
        except Exception:
            logger.exception("devices: housekeeping failed")
        finally:
            connection.close()
