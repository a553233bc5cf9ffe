"""Serving the FHIR API under ASGI with one thread hop per request.

Django's ASGI handler runs every sync middleware hook and the view through ``sync_to_async``: a dozen
thread hops and a fresh thread per request, which costs more than the whole FHIR read it serves.
``with_fhir_fast_path`` hands requests under the FHIR prefix to Django's WSGI handler instead, run in
a small thread pool (one hop, the full middleware stack, the same views), and plain single-resource
reads to ``fhir_gateway.api.lean`` (the same service without Django's request machinery); everything
else (web UI, REST API, websockets) stays on the wrapped ASGI application, unless ``all_http`` sends
every HTTP request to the thread pool too (for a project whose views are all synchronous).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
from concurrent.futures import ThreadPoolExecutor

import orjson
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.utils.translation import gettext as _

from fhir_gateway import services
from fhir_gateway.api import lean


def _environ(scope: dict, body: bytes) -> dict:
    from io import BytesIO

    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf8").decode("latin1"),
        "PATH_INFO": scope["path"].encode("utf8").decode("latin1"),
        "QUERY_STRING": scope["query_string"].decode("latin1"),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    server = scope.get("server") or ("localhost", 80)
    environ["SERVER_NAME"], environ["SERVER_PORT"] = server[0], str(server[1] or 80)
    if scope.get("client"):
        environ["REMOTE_ADDR"] = scope["client"][0]
    for name, value in scope.get("headers", []):
        key = name.decode("latin1").upper().replace("-", "_")
        key = key if key in ("CONTENT_LENGTH", "CONTENT_TYPE") else f"HTTP_{key}"
        text = value.decode("latin1")
        if key in environ:  # repeated headers are joined, cookies as Django's ASGI handler joins them
            text = f"{environ[key]}; {text.rstrip('; ')}" if key == "HTTP_COOKIE" else f"{environ[key]},{text}"
        environ[key] = text
    # The body is buffered whole, so its length is known even when it came chunked.
    environ["CONTENT_LENGTH"] = str(len(body))
    return environ


class WsgiThreadApp:
    """An ASGI HTTP app running Django's WSGI handler in a thread pool (request bodies are buffered).

    Requests for the lean path run in lanes of their own, a few threads each: plain reads in one, type-level
    searches in another. A lane keeps its requests moving while slow ones (a large transaction, a page of
    the web UI) occupy the main pool, and a few threads serve them better than many: they contend less for
    the interpreter, and searches queue for a thread instead of all sharing the CPU at once, which kept
    the heavier searches' p99 at half of what the main pool of 8 gave (docs/benchmarks.md).
    """

    def __init__(
        self,
        *,
        threads: int | None = None,
        read_threads: int | None = None,
        search_threads: int | None = None,
        fhir_prefix: str = "/fhir",
    ):
        self.fhir_prefix = fhir_prefix  # a body too large is refused as an OperationOutcome under it, else as JSON
        self.handler = WSGIHandler()
        self.executor = ThreadPoolExecutor(
            threads or getattr(settings, "HTTP_THREADS", 8), thread_name_prefix="wsgi-http"
        )
        self.lanes = {
            lean.READ: ThreadPoolExecutor(
                read_threads or getattr(settings, "FHIR_READ_THREADS", 2), thread_name_prefix="fhir-read"
            ),
            lean.SEARCH: ThreadPoolExecutor(
                search_threads or getattr(settings, "FHIR_SEARCH_THREADS", 2), thread_name_prefix="fhir-search"
            ),
        }

    def _run(self, scope: dict, body: bytes) -> tuple[int, list, bytes]:
        started: dict = {}

        def start_response(status: str, headers: list, exc_info=None):
            started["status"], started["headers"] = int(status.split(" ", 1)[0]), headers

        result = self.handler(_environ(scope, body), start_response)
        headers = [(k.lower().encode("latin1"), v.encode("latin1")) for k, v in started["headers"]]
        if getattr(result, "streaming", False):
            return started["status"], headers, result  # sent chunk by chunk (an export file, a large body)
        try:
            content = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return started["status"], headers, content

    async def __call__(self, scope, receive, send) -> None:
        chunks, size, limit = [], 0, settings.FHIR_MAX_BODY_BYTES
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:  # refuse before buffering more of it
                await _too_large(send, limit, fhir=scope["path"].startswith(self.fhir_prefix))
                return
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        answer = None
        kind = None if body else lean.kind(scope)
        if kind is not None:
            # The lean path runs no view and sends nothing to a channel layer: a plain hop to the pool, with
            # the context variables copied, costs a fraction of ``sync_to_async``'s.
            call = functools.partial(contextvars.copy_context().run, lean.serve, scope)
            answer = await asyncio.get_running_loop().run_in_executor(self.lanes[kind], call)
        if answer is None:
            # As Django's ASGI handler does: the view's context variables are copied, and its ``async_to_sync``
            # calls (a channel layer's sends) run on this event loop, not on a new one made for each call.
            run = sync_to_async(self._run, thread_sensitive=False, executor=self.executor)
            answer = await run(scope, body)
        status, headers, content = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if isinstance(content, bytes | bytearray):
            await send({"type": "http.response.body", "body": content})
            return
        await self._stream(content, send)

    async def _stream(self, result, send) -> None:
        """A streaming response's chunks, each read in the pool (file reads block) and sent as it comes."""
        loop = asyncio.get_running_loop()
        chunks = iter(result)
        try:
            while True:
                chunk = await loop.run_in_executor(self.executor, next, chunks, None)
                if chunk is None:
                    break
                await send({"type": "http.response.body", "body": bytes(chunk), "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            if hasattr(result, "close"):
                await loop.run_in_executor(self.executor, result.close)


async def _too_large(send, limit: int, *, fhir: bool = True) -> None:
    message = _("The body is larger than %(limit)s bytes") % {"limit": limit}
    if fhir:
        body = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "too-costly", "diagnostics": message}],
        }
        content_type = b"application/fhir+json; charset=utf-8"
    else:
        body, content_type = {"error": "too_large", "detail": message}, b"application/json"
    headers = [(b"content-type", content_type), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": orjson.dumps(body)})


def with_fhir_fast_path(app, *, prefix: str = "/fhir/", all_http: bool = False):
    """``app`` (an ASGI HTTP app) with requests under ``prefix`` served by ``WsgiThreadApp``.

    ``all_http``: every HTTP request is, in the same thread pool; ``app`` then gets only other scope types.
    """
    fhir_app = WsgiThreadApp(fhir_prefix=prefix.rstrip("/"))
    services.warm_up()  # the validator's tables and compiled invariants, the index plans: before the first request

    async def router(scope, receive, send):
        if scope["type"] == "http" and (
            all_http or scope["path"].startswith(prefix) or scope["path"] == prefix.rstrip("/")
        ):
            await fhir_app(scope, receive, send)
        else:
            await app(scope, receive, send)

    return router
