"""Notifications are kept per user with an id: a client that was away gets what it missed (``?since=`` or a
``resume`` message), each id reaches a socket once, a socket catches up from the database what Redis did
not bring, and programs with a bearer token connect without an Origin."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction

from hub.asgi import application
from hub.notifications.events import notify_on_commit
from hub.notifications.message import user_group
from hub.notifications.models import UserNotification

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")


def socket(token: dict | None = None, *, query: str = "", origin: bool = True, cookie: str = ""):
    headers = [ORIGIN] if origin else []
    if token:
        headers.append((b"authorization", token["HTTP_AUTHORIZATION"].encode()))
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, f"/ws/notifications/{query}", headers=headers)


@database_sync_to_async
def notify(user, title: str) -> int:
    with transaction.atomic():
        notify_on_commit(event="referral.routed", recipients=[user], title=title, body="胸痛")
    return UserNotification.objects.filter(user=user).latest("pk").pk


async def test_each_notification_is_stored_per_user_with_the_id_the_socket_sends(
    token_for, cardiologist_zhang, neurologist_zhou
):
    zhang = socket(await database_sync_to_async(token_for)(cardiologist_zhang))
    assert (await zhang.connect())[0]

    stored = await notify(cardiologist_zhang, "New request")

    message = await zhang.receive_json_from(timeout=5)
    assert (message["id"], message["title"]) == (stored, "New request")
    assert await database_sync_to_async(UserNotification.objects.filter(user=neurologist_zhou).count)() == 0
    await zhang.disconnect()


async def test_a_client_that_was_away_gets_what_it_missed_since_its_last_id(token_for, cardiologist_zhang):
    token = await database_sync_to_async(token_for)(cardiologist_zhang)
    seen = await notify(cardiologist_zhang, "seen before")
    missed = [await notify(cardiologist_zhang, f"missed {n}") for n in range(3)]

    back = socket(token, query=f"?since={seen}")
    assert (await back.connect())[0]
    replayed = [await back.receive_json_from(timeout=5) for _ in missed]
    assert [m["id"] for m in replayed] == missed and replayed[0]["title"] == "missed 0"
    assert await back.receive_nothing(timeout=0.3)

    await back.send_json_to({"type": "resume", "since": missed[0]})  # a resume asks again: sent once already
    assert await back.receive_nothing(timeout=0.3)
    await back.send_json_to({"type": "resume", "since": "yesterday"})
    assert (await back.receive_json_from(timeout=5))["type"] == "error"
    await back.disconnect()


async def test_a_resume_message_replays_from_the_id_given(token_for, cardiologist_zhang):
    token = await database_sync_to_async(token_for)(cardiologist_zhang)
    first = await notify(cardiologist_zhang, "one")
    second = await notify(cardiologist_zhang, "two")
    client = socket(token)
    assert (await client.connect())[0]
    assert await client.receive_nothing(timeout=0.3)  # no since: only what comes from now on

    await client.send_json_to({"type": "resume", "since": first - 1})
    assert [(await client.receive_json_from(timeout=5))["id"] for _ in range(2)] == [first, second]
    await client.disconnect()


async def test_the_same_notification_reaches_a_socket_once(token_for, cardiologist_zhang):
    client = socket(await database_sync_to_async(token_for)(cardiologist_zhang))
    assert (await client.connect())[0]
    stored = await notify(cardiologist_zhang, "once")
    assert (await client.receive_json_from(timeout=5))["id"] == stored

    layer = get_channel_layer()  # the same message published again (a retry, a second server)
    row = await database_sync_to_async(UserNotification.objects.get)(pk=stored)
    await layer.group_send(user_group(cardiologist_zhang.pk), {"type": "notify", "message": row.as_message()})
    assert await client.receive_nothing(timeout=0.5)
    await client.disconnect()


async def test_a_socket_catches_up_from_the_database_what_the_channel_layer_never_brought(
    settings, token_for, cardiologist_zhang
):
    settings.NOTIFICATION_RESYNC_SECONDS = 0.3
    client = socket(await database_sync_to_async(token_for)(cardiologist_zhang))
    assert (await client.connect())[0]

    # stored, but its publication was lost (Redis restarted between the commit and the send)
    row = await database_sync_to_async(UserNotification.objects.create)(
        user=cardiologist_zhang, event="referral.routed", title="lost on the way", payload={"referral": {"id": 7}}
    )

    message = await client.receive_json_from(timeout=5)
    assert (message["id"], message["title"], message["referral"]) == (row.pk, "lost on the way", {"id": 7})
    assert await client.receive_nothing(timeout=0.8)  # and only once
    await client.disconnect()


async def test_a_program_with_a_bearer_token_needs_no_origin(token_for, cardiologist_zhang):
    client = socket(await database_sync_to_async(token_for)(cardiologist_zhang), origin=False)
    connected, _code = await client.connect()
    assert connected
    stored = await notify(cardiologist_zhang, "for the program")
    assert (await client.receive_json_from(timeout=5))["id"] == stored
    await client.disconnect()


async def test_a_browser_without_an_allowed_origin_is_refused(client, cardiologist_zhang):
    await database_sync_to_async(client.force_login)(cardiologist_zhang)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    for headers in ({"origin": False}, {"origin": True}):
        communicator = socket(cookie=cookie, **headers)
        connected, _code = await communicator.connect()
        assert connected is headers["origin"]  # the session works only from an allowed origin
        await communicator.disconnect()

    foreign = WebsocketCommunicator(
        application, "/ws/notifications/", headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie.encode())]
    )
    assert not (await foreign.connect())[0]
    await foreign.disconnect()


async def test_a_bad_bearer_token_without_origin_is_not_rescued_by_cookies(client, cardiologist_zhang):
    await database_sync_to_async(client.force_login)(cardiologist_zhang)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    communicator = socket({"HTTP_AUTHORIZATION": "Bearer ahub_wrong"}, origin=False, cookie=cookie)
    connected, code = await communicator.connect()
    assert not connected and code == 4401
    await communicator.disconnect()


async def test_bad_frames_get_an_error_frame(token_for, cardiologist_zhang):
    client = socket(await database_sync_to_async(token_for)(cardiologist_zhang))
    assert (await client.connect())[0]
    await client.send_to(text_data="not json")
    assert (await client.receive_json_from(timeout=5))["type"] == "error"
    await client.send_json_to({"type": "subscribe"})
    assert (await client.receive_json_from(timeout=5))["type"] == "error"
    await client.send_json_to({"type": "ping"})
    assert (await client.receive_json_from(timeout=5)) == {"type": "pong"}
    await client.disconnect()
