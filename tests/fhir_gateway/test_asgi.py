"""The ASGI fast path: /fhir/ served through Django's WSGI handler in a thread pool."""

from __future__ import annotations

import orjson
import pytest

from fhir_gateway.api.asgi import with_fhir_fast_path

pytestmark = pytest.mark.django_db(transaction=True)


async def _call(app, method: str, path: str, body: bytes = b"", headers=()) -> tuple[int, dict, bytes]:
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "http_version": "1.1",
        "headers": [(b"host", b"testserver"), *headers],
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    start, body_message = sent
    return start["status"], dict(start["headers"]), body_message["body"]


async def test_fhir_requests_take_the_fast_path_and_others_the_wrapped_app():
    other_calls = []

    async def other(scope, receive, send):
        other_calls.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = with_fhir_fast_path(other)
    status, headers, body = await _call(app, "GET", "/fhir/metadata")
    assert status == 200 and headers[b"content-type"].startswith(b"application/fhir+json")
    assert orjson.loads(body)["resourceType"] == "CapabilityStatement"
    status, _headers, body = await _call(app, "GET", "/fhir/Patient/1")
    assert status == 401 and orjson.loads(body)["resourceType"] == "OperationOutcome"
    assert (await _call(app, "GET", "/healthz"))[0] == 204
    assert other_calls == ["/healthz"]


async def test_an_oversized_body_is_refused_before_it_is_buffered(settings):
    settings.FHIR_MAX_BODY_BYTES = 1024
    app = with_fhir_fast_path(None)
    status, _headers, body = await _call(
        app, "POST", "/fhir/Patient", b"x" * 5000, headers=[(b"content-type", b"application/fhir+json")]
    )
    assert status == 413 and orjson.loads(body)["issue"][0]["code"] == "too-costly"


def test_a_chunked_body_without_content_length_reaches_django_whole():
    from django.core.handlers.wsgi import WSGIRequest

    from fhir_gateway.api.asgi import _environ

    body = b'{"resourceType": "Patient"}' * 100
    scope = {
        "method": "POST",
        "path": "/fhir/Patient",
        "query_string": b"",
        "http_version": "1.1",
        "headers": [(b"content-type", b"application/fhir+json"), (b"transfer-encoding", b"chunked")],
    }
    assert WSGIRequest(_environ(scope, body)).body == body


def test_the_pools_take_their_sizes_from_the_settings(settings):
    from fhir_gateway.api import lean
    from fhir_gateway.api.asgi import WsgiThreadApp

    settings.HTTP_THREADS, settings.FHIR_READ_THREADS, settings.FHIR_SEARCH_THREADS = 5, 3, 4
    app = WsgiThreadApp()
    sizes = [pool._max_workers for pool in (app.executor, app.lanes[lean.READ], app.lanes[lean.SEARCH])]
    assert sizes == [5, 3, 4]
