"""The routed specialist's browser hears of a new request over the websocket at once."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from hub.asgi import application
from hub.referrals import services
from tests.factories import patient_resource
from tests.hub.referrals.conftest import store

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def patient(county_a) -> dict:
    return store(patient_resource(1), owner="county-a")


def connect(headers: dict[str, str] | None = None) -> WebsocketCommunicator:
    raw = [(b"origin", b"http://127.0.0.1")]
    if headers:
        raw.append((b"authorization", headers["HTTP_AUTHORIZATION"].encode()))
    return WebsocketCommunicator(application, "/ws/notifications/", headers=raw)


def refer(doctor, patient):
    return services.referral_create(
        requester=doctor,
        kind="consultation",
        urgency="urgent",
        pathway="chest_pain",
        patient_ref=f"Patient/{patient['id']}",
        clinical_question="胸痛2小时",
        consent=services.ConsentGiven(),
    )


async def test_the_routed_specialist_receives_the_new_request(
    token_for, dr_li_at_county_a, cardiologist_zhang, neurologist_zhou, patient
):
    zhang = connect(await database_sync_to_async(token_for)(cardiologist_zhang))
    zhou = connect(await database_sync_to_async(token_for)(neurologist_zhou))
    assert (await zhang.connect())[0] and (await zhou.connect())[0]

    referral = await database_sync_to_async(refer)(dr_li_at_county_a, patient)

    message = await zhang.receive_json_from(timeout=5)
    assert message["event"] == "referral.routed"
    assert message["referral"]["id"] == referral.pk
    assert message["referral"]["urgency"] == "urgent"
    assert "fewest open cases" in message["body"]
    assert await zhou.receive_nothing(timeout=0.3)
    await zhang.disconnect()
    await zhou.disconnect()


async def test_the_requester_hears_that_the_request_was_accepted(
    token_for, dr_li_at_county_a, cardiologist_zhang, patient
):
    li = connect(await database_sync_to_async(token_for)(dr_li_at_county_a))
    assert (await li.connect())[0]
    referral = await database_sync_to_async(refer)(dr_li_at_county_a, patient)

    await database_sync_to_async(services.task_accept)(referral_id=referral.pk, actor=cardiologist_zhang)

    message = await li.receive_json_from(timeout=5)
    assert (message["event"], message["referral"]["status"]) == ("referral.accepted", "accepted")
    await li.disconnect()


async def test_an_anonymous_websocket_is_refused(db):
    communicator = connect()
    connected, code = await communicator.connect()
    assert not connected and code == 4401
    await communicator.disconnect()  # lets the consumer finish (it left the channel layer's read)


async def test_a_bad_token_is_refused(db):
    communicator = connect({"HTTP_AUTHORIZATION": "Bearer ahub_not-a-token"})
    connected, _code = await communicator.connect()
    assert not connected
    await communicator.disconnect()


@pytest.mark.redis
async def test_an_idle_socket_outlives_the_redis_layers_blocking_read(
    settings, token_for, dr_li_at_county_a, cardiologist_zhang, patient
):
    """A socket idle longer than the Redis layer's reads wait must still be there (skipped without Redis)."""
    import asyncio

    if settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("InMemoryChannelLayer"):
        pytest.skip("REDIS_URL is not set")
    zhang = connect(await database_sync_to_async(token_for)(cardiologist_zhang))
    assert (await zhang.connect())[0]

    await asyncio.sleep(6.5)  # real time on purpose: the layer's own blocking read is what is tested
    referral = await database_sync_to_async(refer)(dr_li_at_county_a, patient)

    message = await zhang.receive_json_from(timeout=5)
    assert message["referral"]["id"] == referral.pk
    await zhang.disconnect()
