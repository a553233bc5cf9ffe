"""A real HTTP receiver for rest-hook notifications, and Subscription helpers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.federation.conftest import fast_retries, token_of  # noqa: F401

FHIR = "application/fhir+json"


def post_recorded(handler: BaseHTTPRequestHandler) -> dict:
    """A POST as a test's receiver keeps it: its headers (lower-case names) and its JSON body (None if empty)."""
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    return {"headers": {k.lower(): v for k, v in handler.headers.items()}, "body": json.loads(body) if body else None}


class Receiver:
    """Records every POST it gets; answers ``status`` (503 while "down")."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                post = post_recorded(self)
                with receiver.lock:
                    status = receiver.status
                    if status < 300:
                        receiver.received.append(post)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def numbers(self, fhir_id: str) -> list[int]:
        """The event numbers received for a Subscription, in order (0: the handshake)."""
        with self.lock:
            return [
                int(r["headers"]["x-subscription-event-number"])
                for r in self.received
                if r["headers"].get("x-subscription-id") == fhir_id
            ]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def subscription_body(criteria: str, *, channel: str = "rest-hook", endpoint: str = "", payload: str | None = None):
    body = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "test",
        "criteria": criteria,
        "channel": {"type": channel},
    }
    if endpoint:
        body["channel"]["endpoint"] = endpoint
    if payload is not None:
        body["channel"]["payload"] = FHIR
        body["channel"]["_payload"] = {
            "extension": [
                {
                    "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content",
                    "valueCode": payload,
                }
            ]
        }
    return body


def heart_rate(patient_ref: str, value: int = 88) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": patient_ref},
        "valueQuantity": {"value": value, "unit": "/min"},
    }


@pytest.fixture(autouse=True)
def _own_channel_layer():
    """A channel layer of this test's own: one the in-process browser tests' server read from its event loop cannot
    be read from this test's loop (the rooms' tests do the same)."""
    from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers

    channel_layers.backends[DEFAULT_CHANNEL_LAYER] = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    yield
