from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the hub (HTTP and websockets) with uvicorn, in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args, host: str, port: int, workers: int, **options):
        import uvicorn

        from hub.env import env_bool

        if env_bool("HUB_DEMO_SIMULATORS", False):
            from hub.demo.federation import demo_simulators_start

            sims = demo_simulators_start()
            self.stdout.write("Simulated county sites: " + ", ".join(f"{s.site} {s.base_url}" for s in sims))
        ingest = None
        if env_bool("HUB_DEVICES_INGEST", True):  # devices: MQTT (embedded broker without MQTT_URL) and MLLP
            from hub.devices.ingest.runner import ingest_start

            ingest = ingest_start()
            if ingest.subscriber is not None:
                self.stdout.write(f"Bedside devices: MQTT {ingest.subscriber.host}:{ingest.subscriber.port}")
        if env_bool("HUB_DEMO_SIMULATORS", False) and env_bool("HUB_DEMO_DEVICE_SIMULATORS", True):
            from hub.devices.simulator import demo_device_simulators_start

            if ingest is not None and ingest.mqtt_url:
                demo_device_simulators_start(mqtt_url=ingest.mqtt_url)
        self.stdout.write(f"Alliance Hub on http://{host}:{port}/ (Ctrl-C to stop)")
        try:
            uvicorn.run("hub.asgi:application", host=host, port=port, workers=workers, lifespan="off", log_level="info")
        finally:
            if ingest is not None:
                ingest.stop()
