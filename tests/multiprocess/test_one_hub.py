"""Three hub server processes and two Celery workers behave as one hub (deploy/README.md, "Several processes"):
a notification and a consultation room cross processes, every process serves the same records, a site's sync and
beat's jobs run once, and the patient index stays one person one record under concurrent syncs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from datetime import timedelta

import httpx
import pytest
import websockets
from django.utils import timezone

from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL_ACTOR
from hub.accounts.services import api_token_create
from tests.factories import patient_resource

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


def _bearer(user) -> dict[str, str]:
    _token, raw = api_token_create(user=user, name="cluster")
    return {"Authorization": f"Bearer {raw}"}


def _patient(owner: str, seed: int = 1) -> dict:
    return fhir.resource_create(resource=patient_resource(seed), actor=INTERNAL_ACTOR, owner=owner).resource


class Listener:
    """A websocket client of one server process, collecting the frames it receives in a thread."""

    def __init__(self, base_url: str, path: str, headers: dict[str, str]):
        self.url = base_url.replace("http://", "ws://") + path
        self.headers = {**headers, "Origin": base_url}
        self.frames: list[dict] = []
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        async with websockets.connect(self.url, additional_headers=self.headers) as socket:
            self.connected.set()
            while not self._stop.is_set():
                try:
                    self.frames.append(json.loads(await asyncio.wait_for(socket.recv(), 0.2)))
                except TimeoutError:
                    continue

    def __enter__(self):
        self._thread.start()
        assert self.connected.wait(15), f"could not connect to {self.url}"
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def wait_for(self, predicate, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in list(self.frames):
                if predicate(frame):
                    return frame
            time.sleep(0.05)
        raise AssertionError(f"nothing matching arrived in {timeout} s; got {self.frames}")


def test_a_request_created_on_one_process_reaches_a_specialist_connected_to_another(
    hub_cluster, dr_li_at_county_a, cardiologist_zhang
):
    patient = _patient("county-a")
    first, second = hub_cluster.servers[0], hub_cluster.servers[1]
    with Listener(second, "/ws/notifications/", _bearer(cardiologist_zhang)) as zhang:
        created = httpx.post(
            f"{first}/api/referrals/",
            headers=_bearer(dr_li_at_county_a),
            json={
                "kind": "consultation",
                "urgency": "emergency",
                "pathway": "chest_pain",
                "patient": f"Patient/{patient['id']}",
                "clinical_question": "胸痛2小时，ST段抬高",
                "consent": {"method": "verbal", "given_by": "patient"},
            },
            timeout=30,
        )
        assert created.status_code == 201, created.text
        frame = zhang.wait_for(lambda f: f.get("event") == "referral.routed")
    assert frame["referral"]["id"] == created.json()["id"]


def test_a_room_spans_processes(hub_cluster, dr_li_at_county_a, cardiologist_zhang):
    """Li in the room through one server process, Zhang through another: presence, a chat message and a
    signal addressed to one connection cross between them (the channel layer in Redis)."""
    import uuid

    from hub.consultations.models import Room, RoomConnection
    from hub.referrals.services import ConsentGiven, referral_create, task_accept

    patient = _patient("county-a")
    referral = referral_create(
        requester=dr_li_at_county_a,
        kind="consultation",
        urgency="urgent",
        pathway="chest_pain",
        patient_ref=f"Patient/{patient['id']}",
        clinical_question="胸痛2小时，是否急诊PCI？",
        consent=ConsentGiven(),
    )
    task_accept(referral_id=referral.pk, actor=cardiologist_zhang)
    room = Room.objects.get(referral=referral, status="open")
    li_headers, zhang_headers = _bearer(dr_li_at_county_a), _bearer(cardiologist_zhang)
    offer = {"type": "offer", "sdp": "v=0\r\n"}

    async def until(socket, predicate, timeout: float = 15) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await socket.recv())
                if predicate(frame):
                    return frame

    async def enter(base_url: str, headers: dict):
        socket = await websockets.connect(
            base_url.replace("http://", "ws://") + f"/ws/consultations/rooms/{room.pk}/",
            additional_headers={**headers, "Origin": base_url},
        )
        await socket.send(
            json.dumps({"type": "join", "session": uuid.uuid4().hex, "device": {"kind": "pc", "label": "x"}})
        )
        return socket, await until(socket, lambda f: f["type"] == "state")

    async def scenario():
        li, li_state = await enter(hub_cluster.servers[0], li_headers)
        zhang, zhang_state = await enter(hub_cluster.servers[1], zhang_headers)
        try:
            presence = await until(
                li, lambda f: f["type"] == "presence" and f["connection"]["user"]["id"] == cardiologist_zhang.pk
            )
            await li.send(json.dumps({"type": "chat", "id": "c1", "text": "患者血压 90/60"}))
            ack = await until(li, lambda f: f["type"] == "ack" and f.get("id") == "c1")
            chat = await until(zhang, lambda f: f["type"] == "event" and f["kind"] == "chat")
            await zhang.send(json.dumps({"type": "signal", "to": li_state["me"]["connection"], "description": offer}))
            signal = await until(li, lambda f: f["type"] == "signal")
        finally:
            # Hang up (not a dropped signal): the servers' last work for this room is done when the sockets close,
            # none is left for later (a dropped connection is swept 31 s on, into another test's database flush).
            for socket in (li, zhang):
                await socket.send(json.dumps({"type": "leave"}))
                with contextlib.suppress(websockets.ConnectionClosed):
                    await until(socket, lambda f: False, timeout=10)
        return presence, ack, chat, signal, zhang_state

    presence, ack, chat, signal, zhang_state = asyncio.run(scenario())
    deadline = time.monotonic() + 10
    while RoomConnection.objects.filter(room=room).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not RoomConnection.objects.filter(room=room).exists(), "the servers still hold the room's connections"
    assert presence["connection"]["id"] == zhang_state["me"]["connection"]
    assert chat["data"]["text"] == "患者血压 90/60" and chat["seq"] == ack["seq"]
    assert chat["actor"]["id"] == dr_li_at_county_a.pk
    assert signal == {"type": "signal", "from": zhang_state["me"]["connection"], "description": offer}


def test_every_process_serves_the_same_records(hub_cluster, dr_li_at_county_a):
    headers = {**_bearer(dr_li_at_county_a), "Content-Type": "application/fhir+json"}
    created = httpx.post(
        f"{hub_cluster.servers[2]}/fhir/Patient", headers=headers, content=json.dumps(patient_resource(5)), timeout=30
    )
    assert created.status_code == 201, created.text
    fhir_id = created.json()["id"]
    for server in hub_cluster.servers:
        read = httpx.get(f"{server}/fhir/Patient/{fhir_id}", headers=headers, timeout=30)
        assert read.status_code == 200
        assert read.json()["id"] == fhir_id


def test_the_same_sites_sync_started_by_both_workers_at_once_runs_once(cluster_celery, county_a):
    from federation.simulator.data import site_populate
    from federation.simulator.server import SiteSimulator
    from federation.sites.sync_config import SiteSync
    from federation.sync.models import SyncRun

    simulator = SiteSimulator(site="county-a").start()
    try:
        site_populate(simulator.store, site="county-a", region="411321", district="东川县", patients=30,
                      records_per_patient=3)  # fmt: skip
        sync = SiteSync.objects.create(site=county_a, base_url=simulator.base_url, page_size=5)
        simulator.failures.delay = 0.2  # every page takes a while: the two tasks overlap
        results = [cluster_celery.send_task("federation.site_sync", args=[sync.pk]) for _ in range(2)]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            sync.refresh_from_db()
            if SyncRun.objects.filter(sync=sync, finished_at__isnull=False).exists() and sync.last_success_at:
                break
            time.sleep(0.5)
        time.sleep(2)  # let the second task finish too
        assert len(results) == 2
        runs = SyncRun.objects.filter(sync=sync)
        assert runs.count() == 1, [(r.pk, r.started_at, r.finished_at) for r in runs]
        from federation.identity.models import MpiRecord

        assert MpiRecord.objects.filter(site_code="county-a").count() == 30
    finally:
        simulator.stop()


def test_overdue_requests_are_escalated_once_when_both_workers_run_the_job(
    cluster_celery, dr_li_at_county_a, cardiologist_zhang
):
    from hub.referrals.models import Referral, SlaBreach
    from hub.referrals.services import ConsentGiven, referral_create

    patient = _patient("county-a")
    created = [
        referral_create(
            requester=dr_li_at_county_a,
            kind="consultation",
            urgency="emergency",
            pathway="chest_pain",
            patient_ref=f"Patient/{patient['id']}",
            clinical_question="胸痛",
            consent=ConsentGiven(),
            now=timezone.now() - timedelta(hours=3),
        )
        for _ in range(5)
    ]
    tasks = [cluster_celery.send_task("referrals.sla_escalate_due") for _ in range(4)]
    assert len(tasks) == 4
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(Referral.objects.get(pk=r.pk).escalation_level >= 1 for r in created):
            break
        time.sleep(0.3)
    time.sleep(2)
    levels = {r.pk: Referral.objects.get(pk=r.pk).escalation_level for r in created}
    assert set(levels.values()) == {1}, levels
    assert SlaBreach.objects.filter(referral__in=created).count() == len(created)


def test_the_patient_index_stays_one_person_one_record_when_two_sites_sync_at_once(cluster_celery, county_a, county_b):
    import random
    from datetime import UTC, datetime

    from federation.identity.models import GoldenRecord, MpiRecord
    from federation.simulator.data import people_add
    from federation.simulator.people import person_generate
    from federation.simulator.server import SiteSimulator
    from federation.sites.sync_config import SiteSync

    rng = random.Random(7)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    sims = {code: SiteSimulator(site=code).start() for code in ("county-a", "county-b")}
    try:
        people = [person_generate(rng, region="411321", district="东川县") for _ in range(40)]
        for n, person in enumerate(people):  # every person is a patient at both counties
            for code, sim in sims.items():
                people_add(sim.store, rng, person, site=code, mrn=f"{code[-1].upper()}{n:05d}", records=1, start=start)
        syncs = [
            SiteSync.objects.create(site=site, base_url=sims[site.code].base_url, page_size=5)
            for site in (county_a, county_b)
        ]
        for sync in syncs:
            cluster_celery.send_task("federation.site_sync", args=[sync.pk])
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and MpiRecord.objects.count() < 80:
            time.sleep(0.5)
        time.sleep(2)
    finally:
        for sim in sims.values():
            sim.stop()
    assert MpiRecord.objects.count() == 80
    per_golden = {}
    for golden_id, site in MpiRecord.objects.values_list("golden_id", "site_code"):
        per_golden.setdefault(golden_id, []).append(site)
    assert len(per_golden) == 40, "a person got two golden records, or two people one"
    assert all(sorted(sites) == ["county-a", "county-b"] for sites in per_golden.values())
    assert GoldenRecord.objects.filter(active=True).count() == 40
