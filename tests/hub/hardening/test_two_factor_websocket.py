"""A session that still owes its second sign-in step opens no websocket; once verified it does."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from hub.asgi import application
from tests.hub.hardening.test_two_factor import enrol, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def connect(session_id: str) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"cookie", f"sessionid={session_id}".encode())]
    return WebsocketCommunicator(application, "/ws/notifications/", headers=headers)


async def test_an_unverified_admin_session_opens_no_websocket(settings, admin_of_county_a):
    settings.HUB_TWO_FACTOR_REQUIRED_FOR_ADMINS = True
    client = Client()
    await database_sync_to_async(sign_in)(client, admin_of_county_a.username)
    refused = connect(client.cookies["sessionid"].value)
    connected, _code = await refused.connect()
    assert not connected
    await database_sync_to_async(enrol)(client)
    verified = connect(client.cookies["sessionid"].value)
    connected, _code = await verified.connect()
    assert connected
    await verified.disconnect()
