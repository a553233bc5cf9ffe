"""The R4 websocket channel through the hub's ASGI app: bind-with-id, bound, ping on a matching change."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from hub.asgi import application
from tests.factories import patient_resource
from tests.federation.subscriptions.conftest import FHIR, heart_rate, subscription_body

pytestmark = pytest.mark.django_db(transaction=True)
PATH = "/ws/fhir-subscriptions/"


def _socket(headers: dict | None) -> WebsocketCommunicator:
    raw = [(b"authorization", headers["HTTP_AUTHORIZATION"].encode())] if headers else []
    return WebsocketCommunicator(application, PATH, headers=raw)  # no Origin: not a browser


def _post(path, body, headers):
    return Client().post(path, json.dumps(body), content_type=FHIR, **headers)


@pytest.fixture
def system_a(county_a, token_of):
    return token_of(county_a, ["system/*.read", "system/*.write"])


@pytest.fixture
def system_b(county_b, token_of):
    return token_of(county_b, ["system/*.read", "system/*.write"])


async def test_a_bound_subscriber_is_pinged_when_a_matching_record_changes(system_a, system_b):
    created = await database_sync_to_async(_post)(
        "/fhir/Subscription", subscription_body("Observation?code=8867-4", channel="websocket"), system_a
    )
    assert created.status_code == 201, created.content
    sub_id = created.json()["id"]
    stored = await database_sync_to_async(lambda: Client().get(f"/fhir/Subscription/{sub_id}", **system_a))()
    assert stored.json()["status"] == "active"

    mine, theirs = _socket(system_a), _socket(system_b)
    assert (await mine.connect())[0] and (await theirs.connect())[0]
    await theirs.send_to(text_data=f"bind-with-id: {sub_id}")  # county B's system cannot bind county A's
    assert (await theirs.receive_from(timeout=5)).startswith("error ")
    await mine.send_to(text_data=f"bind-with-id: {sub_id}")
    assert await mine.receive_from(timeout=5) == f"bound {sub_id}"

    patient = await database_sync_to_async(_post)("/fhir/Patient", patient_resource(1), system_a)
    assert await mine.receive_nothing(timeout=0.3)  # a Patient: not what it subscribed to
    await database_sync_to_async(_post)("/fhir/Observation", heart_rate(f"Patient/{patient.json()['id']}"), system_a)
    assert await mine.receive_from(timeout=5) == f"ping {sub_id}"
    assert await theirs.receive_nothing(timeout=0.3)

    # What it may not read never pings it: county B's heart rates.
    b_patient = await database_sync_to_async(_post)("/fhir/Patient", patient_resource(2), system_b)
    await database_sync_to_async(_post)("/fhir/Observation", heart_rate(f"Patient/{b_patient.json()['id']}"), system_b)
    assert await mine.receive_nothing(timeout=0.5)
    await mine.disconnect()
    await theirs.disconnect()


async def test_a_websocket_without_credentials_is_closed():
    socket = _socket(None)
    connected, code = await socket.connect()
    assert not connected or code == 4401
    await socket.disconnect()


async def test_a_bad_command_is_answered_with_an_error_frame(system_a):
    socket = _socket(system_a)
    assert (await socket.connect())[0]
    await socket.send_to(text_data="subscribe everything")
    assert (await socket.receive_from(timeout=5)).startswith("error ")
    await socket.send_to(text_data="bind-with-id: no-such-subscription")
    assert (await socket.receive_from(timeout=5)).startswith("error ")
    await socket.disconnect()
