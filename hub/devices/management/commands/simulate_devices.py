import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Simulated monitors and ventilators publishing over MQTT and HL7 v2/MLLP (registers and attaches them)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=200)
        parser.add_argument("--site", default="county-a")
        parser.add_argument("--waves", type=int, default=20, help="how many devices also send ECG and pleth waves")
        parser.add_argument("--hl7-every", type=int, default=5, help="every Nth device speaks HL7 v2/MLLP (0: none)")
        parser.add_argument("--mqtt-url", default="", help="default: MQTT_URL")
        parser.add_argument("--mllp", default="", help="host:port (default: 127.0.0.1:HUB_DEVICES_MLLP_PORT)")
        parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until Ctrl-C)")

    def handle(self, *args, count, site, waves, hl7_every, mqtt_url, mllp, seconds, **options):
        from hub.devices.simulator import Simulator, devices_provision

        url = mqtt_url or settings.MQTT_URL
        if not url:
            raise CommandError(
                "Give --mqtt-url (with a site's MQTT credentials for the embedded broker) or set MQTT_URL."
            )
        host, _sep, port = (mllp or f"127.0.0.1:{settings.DEVICES_MLLP_PORT}").rpartition(":")
        devices = devices_provision(site_code=site, count=count, waves=waves, hl7_every=hl7_every)
        simulator = Simulator(devices, mqtt_url=url, mllp=(host, int(port)) if hl7_every else None).start()
        self.stdout.write(f"{len(devices)} simulated devices at {site} (Ctrl-C to stop)")
        done = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: done.set())
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        done.wait(seconds or None)
        simulator.stop()
        self.stdout.write(f"sent {simulator.sent} messages; HL7 ACKs {simulator.acks}")
