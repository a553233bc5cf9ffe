"""What leaves the hub survives faults, with the processes of ``deploy/Procfile`` (uvicorn, a Celery worker with
late acks, beat) against a PostgreSQL and a Redis of the test's own:

- the worker SIGKILLed while it sends a signed opinion: another worker sends it again once the claim's lease
  runs out (the sweeper, not Redis' visibility timeout), the county site files it once, and the hub says so;
- the county site down for a while, then up: every opinion reaches it, none twice (the event id);
- Redis paused, stopped and restarted while 30 referrals are created: every notification reaches the
  specialist's connected websocket once (by id), reconnects are accepted, requests do not wait on Redis, and
  ``/healthz`` answers 503 naming Redis while it is down, 200 once it is back.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
import redis
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from federation.simulator.server import SiteSimulator
from tests.factories import SIGNING_PIN
from tests.faults.conftest import FAST, PYTHON, wait_for

pytestmark = pytest.mark.redis


def _world(hub, site_code: str, base_url: str | None) -> dict:
    """A county site (with its FHIR endpoint when ``base_url``), the general hospital's cardiology, a county doctor
    and a cardiologist with bearer tokens, and a patient of the county site."""
    code = "\n".join(
        [
            "import json",
            "from federation.sites.constants import SiteKind, Specialty",
            "from federation.sites.sync_config import SiteSync",
            "from fhir_gateway import services as fhir",
            "from fhir_gateway.context import INTERNAL_ACTOR",
            "from hub.accounts.services import api_token_create",
            "from tests.factories import DepartmentFactory, SiteFactory, UserFactory, patient_resource, "
            "with_signing_pin",
            "alliance = SiteFactory(code='alliance', kind=SiteKind.ALLIANCE, parent=None)",
            "general = SiteFactory(code='general', kind=SiteKind.GENERAL, parent=alliance)",
            f"county = SiteFactory(code={site_code!r}, kind=SiteKind.COUNTY, parent=alliance)",
            "cardiology = DepartmentFactory(site=general, code='cardiology', specialty=Specialty.CARDIOLOGY)",
            f"doctor = UserFactory(username='dr_' + {site_code!r}, role='county_doctor', site=county)",
            f"specialist = UserFactory(username='cardio_' + {site_code!r}, role='specialist', site=general, "
            "department=cardiology)",
            "from hub.accounts.models import User",
            "User.objects.filter(role='specialist').exclude(pk=specialist.pk).update(is_active=False)",  # only this one
            "with_signing_pin(specialist)",
            f"mrn = 'urn:site:{site_code}:mrn'",
            f"patient = fhir.resource_create(resource=patient_resource(7, mrn_system=mrn), actor=INTERNAL_ACTOR, "
            f"owner={site_code!r}).resource",
            f"base_url = {base_url!r}",
            "if base_url:",
            "    SiteSync.objects.update_or_create(site=county, defaults={'base_url': base_url, 'timeout_seconds': 10,"
            " 'interval_seconds': 86400})",
            "print(json.dumps({'doctor': api_token_create(user=doctor, name='faults')[1], "
            "'specialist': api_token_create(user=specialist, name='faults')[1], 'specialist_id': specialist.pk, "
            "'patient': patient['id']}))",
        ]
    )
    return json.loads(hub.manage("shell", "-c", code).strip().splitlines()[-1])


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _refer(doctor: httpx.Client, patient: str, n: int = 0) -> int:
    response = doctor.post(
        "/api/referrals/",
        json={
            "kind": "consultation",
            "urgency": "urgent",
            "pathway": "chest_pain",
            "patient": f"Patient/{patient}",
            "clinical_question": f"胸痛待查 {n}",
            "consent": {"method": "written", "given_by": "patient"},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _sign(doctor: httpx.Client, specialist: httpx.Client, patient: str, n: int = 0) -> int:
    referral = _refer(doctor, patient, n)
    assert specialist.post(f"/api/referrals/{referral}/accept", json={}).status_code == 200
    body = {"conclusion": f"建议急诊PCI {n}", "pin": SIGNING_PIN}
    signed = specialist.post(f"/api/referrals/{referral}/opinion", json=body)
    assert signed.status_code == 201, signed.text
    return referral


def _opinions(pg, site_code: str) -> list[tuple]:
    return pg.query(
        "SELECT o.delivery_status, o.delivery_attempts, o.delivery_error FROM referrals_opinion o "
        "JOIN referrals_referral r ON r.id = o.referral_id JOIN federation_site s ON s.id = r.requesting_site_id "
        "WHERE s.code = %s ORDER BY o.id",
        [site_code],
    )


def _beat(hub, tmp_path):
    return hub._spawn(
        "beat",
        [PYTHON, "-m", "celery", "-A", "hub", "beat", "--schedule", str(tmp_path / "beat-schedule"),
         "--loglevel", "WARNING"],
    )  # fmt: skip


def _compositions(sim: SiteSimulator) -> list[dict]:
    return list(sim.store.resources.get("Composition", {}).values())


def test_a_worker_killed_while_it_sends_an_opinion_leaves_it_delivered_once_and_the_hub_truthful(
    private_postgres, private_redis, fault_hub, tmp_path
):
    fault_hub.environ.update(FAST)
    sim = SiteSimulator(site="county-w").start()
    try:
        world = _world(fault_hub, "county-w", sim.base_url)
        url = fault_hub.server()
        fault_hub.worker("worker-a")
        _beat(fault_hub, tmp_path)
        doctor, specialist = _client(url, world["doctor"]), _client(url, world["specialist"])
        sim.failures.delay = 3.0  # the site answers slowly: the kill lands while the POST is in flight
        before = sim.requests
        referral = _sign(doctor, specialist, world["patient"])

        wait_for(lambda: sim.requests > before, "the worker's POST reached the site", 60)
        fault_hub.kill("worker-a")
        [(status, attempts, _error)] = _opinions(private_postgres, "county-w")
        assert (status, attempts) == ("pending", 1)  # truthful: one attempt under way, not "0 attempts"

        sim.failures.delay = 0.0
        fault_hub.worker("worker-b")
        wait_for(lambda: _opinions(private_postgres, "county-w")[0][0] == "delivered", "the opinion delivered", 120)
        time.sleep(3)  # nothing more arrives later
    finally:
        sim.stop()

    [(status, attempts, error)] = _opinions(private_postgres, "county-w")
    assert (status, attempts, error) == ("delivered", 2, "")
    assert len(_compositions(sim)) == 1  # the second attempt was a conditional create of the same opinion
    [opinion] = _client(url, world["doctor"]).get(f"/api/referrals/{referral}").json()["opinions"]
    assert (opinion["delivery_status"], opinion["delivery_attempts"], opinion["delivery_error"]) == ("delivered", 2, "")


def test_a_site_down_for_a_while_gets_every_opinion_once_when_it_is_back(
    private_postgres, private_redis, fault_hub, tmp_path
):
    fault_hub.environ.update(FAST)
    sim = SiteSimulator(site="county-d").start()
    try:
        world = _world(fault_hub, "county-d", sim.base_url)
        url = fault_hub.server()
        fault_hub.worker("worker")
        _beat(fault_hub, tmp_path)
        doctor, specialist = _client(url, world["doctor"]), _client(url, world["specialist"])
        sim.failures.down = True
        for n in range(5):
            _sign(doctor, specialist, world["patient"], n)
        wait_for(
            lambda: (
                private_postgres.query(
                    "SELECT open_until IS NOT NULL FROM outbox_breaker WHERE destination = 'site:county-d'"
                )
                == [(True,)]
            ),
            "the site's breaker open",
            60,
        )
        time.sleep(5)  # down for a while: deliveries wait for the breaker's probes
        assert _compositions(sim) == []
        statuses = {row[0] for row in _opinions(private_postgres, "county-d")}
        assert statuses == {"pending"}
        assert all(row[2] for row in _opinions(private_postgres, "county-d"))  # each says what went wrong

        sim.failures.down = False
        wait_for(
            lambda: {row[0] for row in _opinions(private_postgres, "county-d")} == {"delivered"},
            "every opinion delivered",
            120,
        )
        time.sleep(3)
    finally:
        sim.stop()

    compositions = _compositions(sim)
    identifiers = [c["identifier"]["value"] for c in compositions]
    assert len(compositions) == 5 and len(set(identifiers)) == 5  # every opinion, none twice
    assert len(sim.received) == 5


class NotificationListener:
    """A program on ``/ws/notifications/`` with a bearer token (no Origin), reconnecting with ``?since=`` the
    last id it saw; it keeps every frame's id (``raw``, duplicates included) and every refused handshake."""

    def __init__(self, url: str, token: str):
        self.url = url.replace("http://", "ws://") + "/ws/notifications/"
        self.token = token
        self.raw: list[int] = []
        self.refused: list[int] = []
        self.connections = 0
        self.last: int | None = None
        self.stop = threading.Event()
        self.drop = threading.Event()  # close the socket now (a network change), then reconnect
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> NotificationListener:
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop.is_set():
            url = self.url + ("" if self.last is None else f"?since={self.last}")
            try:
                with ws_connect(url, additional_headers={"Authorization": f"Bearer {self.token}"}) as socket:
                    self.connections += 1
                    while not self.stop.is_set() and not self.drop.is_set():
                        try:
                            frame = json.loads(socket.recv(timeout=0.2))
                        except TimeoutError:
                            continue
                        if isinstance(frame.get("id"), int):
                            self.raw.append(frame["id"])
                            self.last = max(self.last or 0, frame["id"])
                    self.drop.clear()
            except InvalidStatus as refused:
                self.refused.append(refused.response.status_code)
                time.sleep(0.5)
            except (ConnectionClosed, OSError):
                time.sleep(0.5)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


def test_redis_paused_and_restarted_while_30_referrals_are_created_loses_and_doubles_no_notification(
    private_postgres, private_redis, fault_hub
):
    fault_hub.environ.update(FAST)
    world = _world(fault_hub, "county-r", None)
    url = fault_hub.server()
    doctor = _client(url, world["doctor"])
    before = private_postgres.query(
        "SELECT coalesce(max(id), 0) FROM notifications_usernotification WHERE user_id = %s", [world["specialist_id"]]
    )[0][0]
    listener = NotificationListener(url, world["specialist"]).start()
    wait_for(lambda: listener.connections >= 1, "the specialist's socket connected", 30)
    listener.last = before

    durations = []
    try:
        for n in range(30):
            if n == 8:  # Redis stops answering for 5 s
                redis.Redis.from_url(private_redis.url).execute_command("CLIENT", "PAUSE", "5000", "ALL")
                listener.drop.set()  # and the client's network changes meanwhile: it reconnects during the pause
            if n == 16:  # Redis is gone (its groups and queued messages with it) ...
                private_redis.stop()
                listener.drop.set()
                health = httpx.get(f"{url}/healthz", timeout=15)  # which says what is wrong while it is wrong
                assert health.status_code == 503, health.text
                assert health.json()["checks"]["redis"]["ok"] is False
                assert health.json()["checks"]["database"]["ok"] is True
            if n == 22:  # ... and back, empty
                private_redis.start()
            started = time.monotonic()
            _refer(doctor, world["patient"], n)
            durations.append(time.monotonic() - started)

        expected = {
            row[0]
            for row in private_postgres.query(
                "SELECT id FROM notifications_usernotification WHERE user_id = %s AND id > %s",
                [world["specialist_id"], before],
            )
        }
        assert len(expected) == 30  # one "routed" notification per request, all stored
        wait_for(lambda: httpx.get(f"{url}/healthz", timeout=15).status_code == 200, "healthz after Redis is back", 30)
        wait_for(lambda: set(listener.raw) >= expected, "every notification at the socket", 90)
        time.sleep(3)  # and nothing more
    finally:
        listener.close()

    assert set(listener.raw) == expected
    assert len(listener.raw) == len(set(listener.raw)), "a notification arrived twice"
    assert listener.refused == [], f"reconnects refused: {listener.refused}"
    assert listener.connections >= 3
    assert max(durations) < 2.5, f"requests waited on Redis: {sorted(durations)[-3:]}"
