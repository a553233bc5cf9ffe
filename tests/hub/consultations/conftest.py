"""A chest-pain consultation between Dr Li (county A) and cardiologist Zhang, and its room."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from hub.asgi import application
from hub.consultations.models import Room
from hub.referrals import services as referral_services
from tests.factories import UserFactory, patient_resource
from tests.hub.referrals.conftest import store


@database_sync_to_async
def db(function, *args, **kwargs):
    """``await db(function, ...)``: ``function`` run in a thread with database access (the tests' own calls)."""
    return function(*args, **kwargs)


async def drain(peer, timeout: float = 0.3) -> list[dict]:
    """The frames ``peer`` is sent until none comes for ``timeout`` seconds."""
    frames = []
    while not await peer.ws.receive_nothing(timeout=timeout):
        frames.append(await peer.receive())
    return frames


@pytest.fixture
def patient(county_a) -> dict:
    return store(patient_resource(1), owner="county-a")


@pytest.fixture
def ecg(patient) -> dict:
    return store(
        {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "11524-6", "display": "EKG study"}]},
            "subject": {"reference": f"Patient/{patient['id']}"},
            "conclusion": "窦性心律，V1-V4 导联 ST 段抬高",
        },
        owner="county-a",
    )


@pytest.fixture
def other_patient(county_a) -> dict:
    return store(patient_resource(3), owner="county-a")


def consult(doctor, patient, **overrides):
    fields = {
        "requester": doctor,
        "kind": "consultation",
        "urgency": "urgent",
        "pathway": "chest_pain",
        "patient_ref": f"Patient/{patient['id']}",
        "clinical_question": "胸痛2小时，心电图前壁ST段抬高，是否急诊PCI？",
        "consent": referral_services.ConsentGiven(),
    }
    return referral_services.referral_create(**{**fields, **overrides})


@pytest.fixture
def referral(dr_li_at_county_a, cardiologist_zhang, patient, ecg):
    """Accepted by Zhang: the consultation's room opens with the acceptance."""
    created = consult(dr_li_at_county_a, patient)
    return referral_services.task_accept(referral_id=created.pk, actor=cardiologist_zhang)


@pytest.fixture
def room(referral) -> Room:
    return Room.objects.get(referral=referral, status="open")


@pytest.fixture
def radiologist_zhao(general_hospital):
    from hub.accounts.constants import Role

    return UserFactory(username="radiologist_zhao", display_name="赵雪梅", role=Role.SPECIALIST, site=general_hospital)


class Peer:
    """One browser tab in the room, speaking the room protocol over a websocket."""

    def __init__(self, communicator: WebsocketCommunicator, session: str):
        self.ws = communicator
        self.session = session
        self.state: dict | None = None

    async def send(self, frame: dict) -> None:
        await self.ws.send_json_to(frame)

    async def receive(self, timeout: float = 3) -> dict:
        return await self.ws.receive_json_from(timeout=timeout)

    async def receive_until(self, predicate, timeout: float = 3) -> dict:
        """The first frame matching ``predicate`` (others are skipped)."""
        while True:
            frame = await self.receive(timeout)
            if predicate(frame):
                return frame

    async def join(self, *, since: int | None = None, device: str = "phone") -> dict:
        frame = {"type": "join", "session": self.session, "device": {"kind": device, "label": "test"}}
        if since is not None:
            frame["since"] = since
        await self.send(frame)
        self.state = await self.receive_until(lambda f: f["type"] == "state")
        return self.state

    async def chat(self, text: str, client_id: str | None = None) -> dict:
        client_id = client_id or uuid.uuid4().hex
        await self.send({"type": "chat", "id": client_id, "text": text})
        return await self.receive_until(lambda f: f["type"] in ("ack", "error") and f.get("id") == client_id)

    async def close(self) -> None:
        await self.ws.disconnect()


@pytest.fixture
def enter(token_for):
    """``await enter(user, room)``: a connected (not yet joined) tab of ``user``; ``None`` if refused."""
    from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers

    # A layer of this test's own: one the in-process browser tests' server read from its event loop cannot be.
    channel_layers.backends[DEFAULT_CHANNEL_LAYER] = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    opened: list[Peer] = []

    async def make(user, room, *, session: str | None = None, expect_refusal: bool = False):
        headers = await database_sync_to_async(token_for)(user)
        communicator = WebsocketCommunicator(
            application,
            f"/ws/consultations/rooms/{room.pk}/",
            headers=[(b"origin", b"http://127.0.0.1"), (b"authorization", headers["HTTP_AUTHORIZATION"].encode())],
        )
        connected, code = await communicator.connect(timeout=5)
        if not connected:
            assert expect_refusal, f"refused with {code}"
            return code
        assert not expect_refusal, "admitted"
        peer = Peer(communicator, session or uuid.uuid4().hex)
        opened.append(peer)
        return peer

    yield make


def now():
    return timezone.now()
