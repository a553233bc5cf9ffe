"""The hub's Prometheus metrics: counted where things happen, or read from the database at scrape time.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the deploy files set it), the server processes and workers of one
host share their counters through files there, as ``prometheus_client``'s multiprocess mode does; the
folder must be emptied when the processes start.
"""

from __future__ import annotations

import logging
import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter(
    "hub_http_requests_total", "HTTP requests answered, by endpoint family", ["family", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "hub_http_request_seconds",
    "Time to answer an HTTP request, by endpoint family",
    ["family"],
    buckets=LATENCY_BUCKETS,
)
WEBSOCKETS_OPEN = Gauge(
    "hub_websocket_connections", "Open websocket connections, by route", ["route"], multiprocess_mode="livesum"
)
WEBSOCKET_CONNECTS = Counter("hub_websocket_connects_total", "Websocket connections opened, by route", ["route"])
FHIR_INTERACTIONS = Counter(
    "hub_fhir_interactions_total",
    "FHIR interactions, by action, actor kind and outcome",
    ["action", "actor", "outcome"],
)
DEVICE_MESSAGES = Counter(
    "hub_device_messages_total", "Bedside device messages taken or refused, by protocol", ["protocol", "outcome"]
)
CELERY_TASKS = Counter("hub_celery_tasks_total", "Celery tasks run, by task and final state", ["task", "state"])
CELERY_TASK_SECONDS = Histogram("hub_celery_task_seconds", "Time a Celery task ran", ["task"], buckets=LATENCY_BUCKETS)


def device_message_observed(protocol: str, outcome: str) -> None:
    """One device message through the ingest pipeline (``accepted`` or ``refused``)."""
    DEVICE_MESSAGES.labels(protocol=protocol or "unknown", outcome=outcome).inc()


def fhir_interaction_observed(interaction, status: int, resource) -> None:
    """``fhir_gateway.hooks.interaction_observers`` entry."""
    if status < 400:
        outcome = "success"
    elif status in (401, 403):
        outcome = "refused"
    elif status < 500:
        outcome = "client_error"
    else:
        outcome = "server_error"
    FHIR_INTERACTIONS.labels(action=interaction.action, actor=interaction.actor.kind, outcome=outcome).inc()


# --- read at scrape time ----------------------------------------------------------------


class DatabaseCollector:
    """Gauges read from the database and Redis when Prometheus scrapes (not kept per process)."""

    def collect(self):
        yield from _guarded(self._sync)
        yield from _guarded(self._outbox)
        yield from _guarded(self._queues)
        yield from _guarded(self._devices)

    def _sync(self):
        from django.utils import timezone

        from federation.sites.sync_config import SiteSync
        from federation.sync.models import DeadLetter

        lag = GaugeMetricFamily(
            "hub_site_sync_lag_seconds", "Seconds since a site's last successful sync", labels=["site"]
        )
        failures = GaugeMetricFamily(
            "hub_site_sync_consecutive_failures", "A site's failed sync runs in a row", labels=["site"]
        )
        state = GaugeMetricFamily(
            "hub_site_sync_state", "A site's sync state (1 for its current state)", labels=["site", "state"]
        )
        dead = GaugeMetricFamily(
            "hub_sync_dead_letters", "Unresolved records a site's sync could not file", labels=["site"]
        )
        now = timezone.now()
        for sync in SiteSync.objects.select_related("site").filter(enabled=True):
            code = sync.site.code
            if sync.last_success_at:
                lag.add_metric([code], (now - sync.last_success_at).total_seconds())
            failures.add_metric([code], sync.consecutive_failures)
            state.add_metric([code, sync.state], 1)
        for code, count in _counts(DeadLetter.objects.filter(resolved=False), "site_code"):
            dead.add_metric([code], count)
        yield from (lag, failures, state, dead)

    def _outbox(self):
        try:
            from federation.outbox.selectors import outbox_depths
        except ImportError:
            return
        depth = GaugeMetricFamily(
            "hub_outbox_messages", "Outbox messages by destination kind and state", labels=["kind", "state"]
        )
        for kind, state, count in outbox_depths():
            depth.add_metric([kind, state], count)
        yield depth

    def _queues(self):
        from django.conf import settings

        url = getattr(settings, "CELERY_BROKER_URL", None)
        if not url or not url.startswith(("redis://", "rediss://", "unix://")):
            return
        import redis

        queues = GaugeMetricFamily("hub_celery_queue_length", "Tasks waiting in a Celery queue", labels=["queue"])
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            names = {getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")} | set(
                getattr(settings, "CELERY_TASK_QUEUES_NAMES", ())
            )
            for name in sorted(names):
                queues.add_metric([name], client.llen(name))
        finally:
            client.close()
        yield queues

    def _devices(self):
        try:
            from hub.devices.selectors import device_metrics
        except ImportError:
            return
        yield from device_metrics()


def _counts(queryset, field: str):
    from django.db.models import Count

    return queryset.values_list(field).annotate(n=Count("pk")).values_list(field, "n")


def _guarded(collect):
    try:
        yield from collect()
    except Exception:  # a scrape reports what it can; one failed source must not hide the others
        logger.exception("metrics: %s failed", getattr(collect, "__name__", collect))


def exposition_local() -> bytes:
    """What this process counted (with ``PROMETHEUS_MULTIPROC_DIR``: every process sharing that folder)."""
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY)


def exposition() -> bytes:
    """Everything, in Prometheus' text format: the counters, and what the database says at scrape time."""
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(DatabaseCollector())
    return exposition_local() + generate_latest(scraped)


def metrics_serve(*, port: int, host: str = "0.0.0.0"):  # noqa: S104 - a container port for Prometheus
    """Serve this process's counters at ``http://host:port/metrics`` from a thread: for the processes that are
    not web servers (the device ingest, Celery workers), whose counters the web's ``/metrics`` cannot see when
    they run in containers of their own. The same rule as ``/metrics`` (``HUB_METRICS_TOKEN``); the server."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from django.conf import settings

    from hub.access.endpoints import scraper_allowed

    def app(environ, start_response):
        allowed = scraper_allowed(
            authorization=environ.get("HTTP_AUTHORIZATION", ""),
            address=environ.get("REMOTE_ADDR", ""),
            token=getattr(settings, "HUB_METRICS_TOKEN", ""),
        )
        if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") != "GET" or not allowed:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        body = exposition_local()
        start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")])
        return [body]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):  # scrapes every 15 s are not news
            pass

    server = make_server(host, port, app, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    logger.info("metrics: this process's counters at http://%s:%s/metrics", host, server.server_port)
    return server
