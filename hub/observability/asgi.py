"""ASGI middleware: a request id for every request and websocket, counted and timed per endpoint family."""

from __future__ import annotations

import time

from hub.observability import metrics
from hub.observability.context import request_id, request_id_from

PROBES = ("/healthz", "/livez", "/metrics")


def family(scope: dict) -> str:
    """A small, fixed set of labels (never ids): which kind of endpoint a request went to."""
    path, method = scope.get("path", ""), scope.get("method", "GET")
    if path == "/fhir" or path.startswith("/fhir/"):
        parts = [part for part in path[len("/fhir") :].split("/") if part]
        if parts == ["metadata"]:
            return "fhir_capabilities"
        if method == "GET":
            if any(part.startswith("$") for part in parts):
                return "fhir_operation"
            if len(parts) == 2:
                return "fhir_read"
            if len(parts) == 1:
                return "fhir_search"
            return "fhir_other"
        if method == "POST" and not parts:
            return "fhir_bundle"
        if any(part.startswith("$") for part in parts):
            return "fhir_operation"
        return "fhir_write"
    for prefix, name in (
        ("/api/", "api"),
        ("/federation/", "federation"),
        ("/o/", "oauth"),
        ("/static/", "static"),
        ("/admin/", "admin"),
    ):
        if path.startswith(prefix):
            return name
    if path in PROBES:
        return "probe"
    return "web"


def websocket_route(path: str) -> str:
    parts = [part for part in path.split("/") if part]
    return parts[1] if len(parts) > 1 and parts[0] == "ws" else "other"


def observed(app):
    """``app`` with request ids, metrics and the ``X-Request-ID`` response header."""

    async def wrapper(scope, receive, send):
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        rid = request_id_from(scope.get("headers"))
        token = request_id.set(rid)
        if kind == "websocket":
            route = websocket_route(scope.get("path", ""))
            metrics.WEBSOCKET_CONNECTS.labels(route=route).inc()
            gauge = metrics.WEBSOCKETS_OPEN.labels(route=route)
            gauge.inc()
            try:
                await app(scope, receive, send)
            finally:
                gauge.dec()
                request_id.reset(token)
            return
        status = [500]
        header = (b"x-request-id", rid.encode("latin1"))

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        started = time.perf_counter()
        try:
            await app(scope, receive, send_with_id)
        finally:
            name = family(scope)
            metrics.HTTP_REQUESTS.labels(
                family=name, method=scope.get("method", ""), status=f"{status[0] // 100}xx"
            ).inc()
            metrics.HTTP_SECONDS.labels(family=name).observe(time.perf_counter() - started)
            request_id.reset(token)

    return wrapper
