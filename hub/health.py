"""``GET /healthz``: is the database (and Redis, the broker, MQTT when configured) reachable?"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as exc:  # a health check reports every failure, whatever its kind
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if detail:
        result.update(detail)
    return result


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0]
    return {"engine": "postgresql", "embedded": settings.EMBEDDED_DATABASE, "version": version.split(" on ")[0]}


def check_redis() -> dict:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return {}


def check_broker() -> dict:
    from hub.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {}


def check_tcp(url: str) -> dict:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 1883), timeout=2):
        pass
    return {}


def check_audit() -> dict:
    """Audit rows waiting: in this process's background writer, and in the durable spool (failing when a
    spooled file has waited longer than retries should take)."""
    from hub.audit.spool import STUCK_SECONDS, spool_state
    from hub.audit.writer import writer

    spooled = spool_state()
    if spooled["oldest_seconds"] > STUCK_SECONDS:
        raise RuntimeError(f"{spooled['files']} spooled audit file(s), the oldest {spooled['oldest_seconds']} s old")
    return {"spooled_files": spooled["files"], "oldest_seconds": spooled["oldest_seconds"], "backlog": writer.backlog}


def check_sites() -> dict:
    """The county sites' syncs by state. Informational: a site's outage is the site's, not this hub's, so it never
    makes the hub unready; who is down and why is at ``/federation/sites/health`` (site administrators)."""
    from federation.sites.health import sites_by_state

    return sites_by_state()


@require_GET
def healthz(request):
    checks = {"database": _timed(check_database), "audit": _timed(check_audit)}
    if settings.REDIS_URL:
        checks["redis"] = _timed(check_redis)
    if settings.CELERY_BROKER_URL:
        checks["broker"] = _timed(check_broker)
    else:
        checks["celery"] = {"ok": True, "mode": "inline"}
    if settings.MQTT_URL:
        checks["mqtt"] = _timed(lambda: check_tcp(settings.MQTT_URL))
    healthy = all(check["ok"] for check in checks.values())
    sites = _timed(check_sites)
    checks["sites"] = {**sites, "ok": True, "informational": True}
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)
