import errno
import signal
import socket
import threading

from django.core.management.base import BaseCommand, CommandError

# When the port asked for is taken, the next ones are tried (the banner names the one served).
PORT_TRIES = 10


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last_error: OSError | None = None
    for candidate in [port] if port == 0 else range(port, min(port + PORT_TRIES, 65536)):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as error:
            sock.close()
            last_error = error
            if error.errno != errno.EADDRINUSE:
                break
            continue
        sock.listen(2048)
        sock.set_inheritable(True)
        return sock
    raise CommandError(f"Cannot listen on {host}:{port}: {last_error}")


class Command(BaseCommand):
    help = (
        "Serve the hub (HTTP and websockets) with uvicorn, in the foreground. Without a broker it also runs the "
        "periodic jobs (CELERY_BEAT_SCHEDULE); with the embedded database it stops that server on its way out."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args, host: str, port: int, workers: int, **options):
        import uvicorn
        from uvicorn.supervisors import Multiprocess

        from hub.embedded_db import embedded_database_release
        from hub.env import env_bool
        from hub.scheduler import embedded_scheduler_start

        sock = _bind(host, port)
        config = uvicorn.Config(
            "hub.asgi:application", fd=sock.fileno(), workers=workers, lifespan="off", log_level="info"
        )
        server = uvicorn.Server(config)
        stopping = threading.Event()

        def stop_asked(signum, frame) -> None:
            # Only flags: an exception raised wherever the signal lands (inside logging's lock, say) could leave a
            # lock taken and the shutdown below hanging. uvicorn, once serving, handles the signals itself and
            # calls this again when it is done.
            stopping.set()
            server.should_exit = True

        signal.signal(signal.SIGTERM, stop_asked)
        signal.signal(signal.SIGINT, stop_asked)
        scheduler = None
        ingest = None
        try:
            if env_bool("HUB_DEMO_SIMULATORS", False):
                from hub.demo.federation import demo_simulators_start

                sims = demo_simulators_start()
                self.stdout.write("Simulated county sites: " + ", ".join(f"{s.site} {s.base_url}" for s in sims))
            if env_bool("HUB_DEVICES_INGEST", True):  # devices: MQTT (embedded broker without MQTT_URL) and MLLP
                from hub.devices.ingest.runner import ingest_start

                ingest = ingest_start()
                if ingest.subscriber is not None:
                    self.stdout.write(f"Bedside devices: MQTT {ingest.subscriber.host}:{ingest.subscriber.port}")
            if env_bool("HUB_DEMO_SIMULATORS", False) and env_bool("HUB_DEMO_DEVICE_SIMULATORS", True):
                from hub.devices.simulator import demo_device_simulators_start

                if ingest is not None and ingest.mqtt_url:
                    demo_device_simulators_start(mqtt_url=ingest.mqtt_url)
            scheduler = embedded_scheduler_start()
            if scheduler is not None:
                self.stdout.write("Periodic jobs (SLA escalation, sync, ...) run in this process: no broker is set.")
            served = sock.getsockname()[1]
            shown = f"[{host}]" if ":" in host else host
            moved = f" (port {port} was taken)" if port not in (0, served) else ""
            self.stdout.write(f"Alliance Hub on http://{shown}:{served}/{moved} (Ctrl-C to stop)")
            self.stdout.flush()
            if stopping.is_set():
                pass  # asked to stop while starting
            elif workers > 1:
                Multiprocess(config, target=server.run, sockets=[sock]).run()
            else:
                server.run()
        except KeyboardInterrupt:
            pass
        finally:
            if ingest is not None:
                ingest.stop()
            if scheduler is not None:
                scheduler.stop()
            sock.close()
            embedded_database_release()
