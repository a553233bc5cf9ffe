"""A receiver over real HTTP for outbox tests: it records what it gets, deduplicates by event id, and can be
told to fail or to be down."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from federation.outbox.idempotency import idempotency_headers
from federation.outbox.registry import GiveUp, Retry, handler_register

KIND = "tests.hook"


class Receiver:
    def __init__(self):
        self.received: list[dict] = []  # every POST, duplicates included
        self.events: dict[str, dict] = {}  # by event id: what the receiver keeps
        self.status = 200  # what it answers
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                event_id = self.headers.get("Idempotency-Key", "")
                with receiver.lock:
                    status = receiver.status
                    if status < 300:
                        receiver.received.append({"event_id": event_id, **body})
                        receiver.events.setdefault(event_id, body)
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def hook_send(message) -> dict:
    try:
        response = httpx.post(message.payload["url"], json=message.payload, headers=idempotency_headers(message))
    except httpx.HTTPError as error:
        raise Retry(f"{type(error).__name__}: {error}") from error
    if response.status_code == 400:
        raise GiveUp("HTTP 400: refused")
    if response.status_code >= 300:
        raise Retry(f"HTTP {response.status_code}")
    return {"status": response.status_code}


def register() -> None:
    handler_register(KIND, send=hook_send)
