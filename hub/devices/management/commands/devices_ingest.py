import signal
import threading

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the device ingest alone: MQTT subscriber (MQTT_URL or an embedded broker) and the HL7 v2/MLLP listener."

    def add_arguments(self, parser):
        parser.add_argument("--mllp-port", type=int, default=None, help="default: HUB_DEVICES_MLLP_PORT (0: off)")
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            help="serve this process's counters (device messages) at :PORT/metrics; default HUB_METRICS_PORT (0: off)",
        )

    def handle(self, *args, mllp_port, metrics_port, **options):
        from django.conf import settings

        from hub.devices.ingest.runner import ingest_start
        from hub.observability.metrics import metrics_serve

        metrics_port = settings.HUB_METRICS_PORT if metrics_port is None else metrics_port
        metrics = metrics_serve(port=metrics_port) if metrics_port else None
        ingest = ingest_start(mllp_port=mllp_port)
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        signal.signal(signal.SIGINT, lambda *_: done.set())
        self.stdout.write(
            f"Device ingest: MQTT {ingest.subscriber.host}:{ingest.subscriber.port}"
            + (f", MLLP 127.0.0.1:{ingest.mllp.port}" if ingest.mllp else "")
        )
        done.wait()
        ingest.stop()
        if metrics is not None:
            metrics.shutdown()
