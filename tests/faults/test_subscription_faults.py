"""A rest-hook Subscription's notifications survive faults, with the processes of ``deploy/Procfile`` (uvicorn, a
Celery worker with late acks, beat) against a PostgreSQL and a Redis of the test's own.

Matches are written to the outbox in the transaction of the change and delivered by the worker, one at a time per
subscription. While 30 matching Observations are written, the subscriber's endpoint stops (connections refused)
for a while, the worker is SIGKILLed while a notification is in flight and started again, and Redis is stopped
and restarted (its queued tasks gone). Once all is up: the subscriber has every event number, first seen in
order, and a notification it got twice carried the same ``Idempotency-Key`` each time (one event to it); nothing
is left in the outbox and the Subscription is still ``active``.

A worker that exits on its own (Celery/kombu 5.7 may, on the Redis restart: see ``Supervisor``) is started again,
as ``deploy/compose.yml``'s ``restart: unless-stopped`` does; the outbox's sweeper, not Redis, brings its tasks back.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.conftest import free_port
from tests.faults.conftest import FAST, PYTHON, user_with_token, wait_for
from tests.federation.subscriptions.conftest import FHIR, post_recorded, subscription_body

pytestmark = pytest.mark.redis

N = 30


class StoppableReceiver:
    """A subscriber's rest-hook endpoint on a fixed port: ``stop()`` closes its socket (connections refused),
    ``start()`` listens again; ``delay`` seconds pass between reading a notification (recorded: the subscriber
    has it) and answering it, so that a worker may die in between. Every POST received is kept, duplicates too."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.received: list[dict] = []
        self.in_flight = 0
        self.delay = 0.0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                post = post_recorded(self)
                with receiver.lock:
                    receiver.received.append(post)
                    receiver.in_flight += 1
                try:
                    time.sleep(receiver.delay)
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                finally:
                    with receiver.lock:
                        receiver.in_flight -= 1

            def log_message(self, *args):
                pass

        return Handler

    def start(self) -> StoppableReceiver:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def arrivals(self, fhir_id: str) -> list[tuple[int, str]]:
        """(event number, Idempotency-Key) of every POST for the Subscription, in the order they came."""
        with self.lock:
            return [
                (int(r["headers"]["x-subscription-event-number"]), r["headers"].get("idempotency-key", ""))
                for r in self.received
                if r["headers"].get("x-subscription-id") == fhir_id
            ]

    def numbers(self, fhir_id: str) -> set[int]:
        return {number for number, _key in self.arrivals(fhir_id)}


def _observation(n: int) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": "urn:test:subscription-faults", "value": f"hr-{n}"}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "valueQuantity": {"value": 60 + n, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }


def _write(client: httpx.Client, n: int) -> None:
    """A conditional create, retried until acknowledged (as a careful FHIR client does)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            answer = client.post(
                "/fhir/Observation",
                json=_observation(n),
                headers={"If-None-Exist": f"identifier=urn:test:subscription-faults|hr-{n}"},
            )
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code in (200, 201):
            return
        assert time.monotonic() < deadline, f"Observation {n} not written: {answer and answer.text[:300]}"
        time.sleep(0.3)


def _beat(hub, tmp_path):
    return hub._spawn(
        "beat",
        [PYTHON, "-m", "celery", "-A", "hub", "beat", "--schedule", str(tmp_path / "beat-schedule"),
         "--loglevel", "WARNING"],
    )  # fmt: skip


class Supervisor:
    """What ``deploy/compose.yml`` does for the worker (``restart: unless-stopped``): one that exits is started
    again. Celery 5.7/kombu 5.7 may exit on a Redis restart while it holds unacknowledged tasks (late acks):
    closing the lost connection restores them through a transport already closed, ``AttributeError: 'NoneType'
    object has no attribute 'hostname'``, "Unrecoverable error"."""

    def __init__(self, hub, name: str):
        self.hub, self.name, self.restarts = hub, name, 0

    def check(self) -> None:
        if self.hub.processes[self.name].poll() is not None:
            self.restarts += 1
            self.name = f"worker-restarted-{self.restarts}"
            self.hub.worker(self.name)


def _open_messages(pg, subscription_pk: int) -> list[tuple]:
    return pg.query(
        "SELECT id, state, payload FROM outbox_outboxmessage "
        "WHERE ordering_key = %s AND state NOT IN ('delivered') ORDER BY id",
        [f"subscription:{subscription_pk}"],
    )


def test_a_rest_hook_gets_every_event_in_order_through_a_down_receiver_a_killed_worker_and_a_redis_restart(
    private_postgres, private_redis, fault_hub, tmp_path
):
    fault_hub.environ.update(FAST)
    token = user_with_token(fault_hub, "dr_subscriber", "county_doctor", "county-s")
    url = fault_hub.server()
    fault_hub.worker("worker")
    _beat(fault_hub, tmp_path)
    receiver = StoppableReceiver().start()
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}", "Content-Type": FHIR}, timeout=30)
    try:
        body = subscription_body("Observation?code=http://loinc.org|8867-4", endpoint=receiver.url, payload="id-only")
        created = client.post("/fhir/Subscription", json=body)
        assert created.status_code == 201, created.text
        sub_id = created.json()["id"]
        wait_for(
            lambda: client.get(f"/fhir/Subscription/{sub_id}").json()["status"] == "active",
            "the Subscription active after its handshake",
            60,
        )
        [(subscription_pk,)] = private_postgres.query(
            "SELECT id FROM subscriptions_subscription WHERE fhir_id = %s", [sub_id]
        )

        for n in range(1, 6):  # all up
            _write(client, n)
        wait_for(lambda: receiver.numbers(sub_id) >= {1}, "the first event at the receiver", 60)

        receiver.stop()  # 1. the subscriber's endpoint is down for a while
        for n in range(6, 12):
            _write(client, n)
        time.sleep(6)  # its failures open the breaker; the matches wait in the outbox
        seen_while_down = receiver.numbers(sub_id)
        assert seen_while_down < set(range(0, 12)), "every event arrived while the receiver was down"

        receiver.delay = 3.0  # 2. back, but slow: the worker is killed with a notification in flight
        receiver.start()
        for n in range(12, 16):
            _write(client, n)
        wait_for(lambda: receiver.in_flight > 0, "a notification in flight", 60)
        fault_hub.kill("worker")
        killed_during = receiver.arrivals(sub_id)[-1]
        receiver.delay = 0.5
        for n in range(16, 20):
            _write(client, n)
        fault_hub.worker("worker-b")
        before = len(receiver.arrivals(sub_id))
        wait_for(lambda: len(receiver.arrivals(sub_id)) > before, "the new worker delivering", 90)

        private_redis.stop()  # 3. Redis gone mid-delivery (its queued tasks with it) while events keep coming ...
        assert receiver.numbers(sub_id) < set(range(0, 20)), "the backlog was gone before Redis stopped"
        for n in range(20, 25):
            _write(client, n)
        private_redis.start()  # ... and back, empty
        receiver.delay = 0.0
        supervisor = Supervisor(fault_hub, "worker-b")
        for n in range(25, N + 1):
            _write(client, n)

        expected = set(range(0, N + 1))

        def every_event() -> bool:
            supervisor.check()
            return receiver.numbers(sub_id) >= expected

        wait_for(every_event, "every event at the receiver", 180)
        wait_for(lambda: _open_messages(private_postgres, subscription_pk) == [], "nothing left in the outbox", 60)
        time.sleep(3)  # and nothing more arrives
    finally:
        receiver.stop()
        client.close()

    arrivals = receiver.arrivals(sub_id)
    print(
        "in flight at the kill:", killed_during, "worker restarts after Redis:", supervisor.restarts,
        "arrivals:", [number for number, _key in arrivals],
    )  # fmt: skip
    assert {number for number, _key in arrivals} == expected  # every event, and nothing that is not one
    first_seen: list[int] = []
    keys: dict[int, set[str]] = {}
    for number, key in arrivals:
        assert key, f"event {number} came without an Idempotency-Key"
        if number not in keys:
            first_seen.append(number)
        keys.setdefault(number, set()).add(key)
    assert first_seen == sorted(first_seen) == list(range(0, N + 1)), f"out of order: {first_seen}"
    twice = {number: k for number, k in keys.items() if len(k) > 1}
    assert twice == {}, f"events sent again as different ones: {twice}"
    assert len({next(iter(k)) for k in keys.values()}) == N + 1  # one key per event, none shared
    [(status, count)] = private_postgres.query(
        "SELECT status, events_count FROM subscriptions_subscription WHERE id = %s", [subscription_pk]
    )
    assert (status, count) == ("active", N)
    assert _open_messages(private_postgres, subscription_pk) == []
    [(delivered,)] = private_postgres.query(
        "SELECT count(*) FROM outbox_outboxmessage WHERE ordering_key = %s AND state = 'delivered'",
        [f"subscription:{subscription_pk}"],
    )
    assert delivered == N + 1
