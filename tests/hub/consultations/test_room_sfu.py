"""Rooms larger than a mesh: LiveKit (deploy/livekit/) with access tokens the hub issues.

LiveKit's server is not installable here (no registry package): its tokens are checked with LiveKit's own
server SDK (``livekit-api``'s ``TokenVerifier``, the documented claims: issuer = API key, ``sub`` = identity,
``exp``/``nbf``, the ``video`` grant), and the switch from mesh to SFU through the room's websocket.
"""

from __future__ import annotations

import time

import jwt
import pytest
from channels.db import database_sync_to_async

from hub.accounts.constants import Role
from hub.consultations import media, services
from tests.factories import UserFactory

livekit_api = pytest.importorskip("livekit.api")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def livekit(settings):
    settings.LIVEKIT_URL, settings.LIVEKIT_API_KEY = "wss://sfu.alliance.example", "alliance-hub"
    settings.LIVEKIT_API_SECRET = "a-secret-of-at-least-thirty-two-characters"
    return settings


def test_livekits_own_verifier_accepts_the_hubs_token_for_one_room_and_one_connection(
    livekit, room, cardiologist_zhang
):
    issued = media.livekit_token(room=room, user=cardiologist_zhang, connection_uid="c0nn3ct10n")
    assert issued["url"] == "wss://sfu.alliance.example"
    claims = livekit_api.TokenVerifier("alliance-hub", livekit.LIVEKIT_API_SECRET).verify(issued["token"])
    assert claims.identity == f"{cardiologist_zhang.pk}:c0nn3ct10n"  # one identity per tab: two tabs, two
    assert claims.name == (cardiologist_zhang.display_name or cardiologist_zhang.username)
    grant = claims.video
    assert grant.room == f"consultation-{room.uid}" and grant.room_join is True
    assert grant.can_publish and grant.can_subscribe and grant.can_publish_data
    # Nothing more than a participant's: no admin, no room creation or listing, no recording.
    assert not (grant.room_admin or grant.room_create or grant.room_list or grant.room_record or grant.recorder)
    raw = jwt.decode(issued["token"], options={"verify_signature": False})
    assert raw["nbf"] <= time.time() < raw["exp"] <= time.time() + livekit.LIVEKIT_TOKEN_SECONDS


def test_a_token_under_another_secret_or_expired_is_refused_by_livekits_verifier(livekit, room, cardiologist_zhang):
    issued = media.livekit_token(room=room, user=cardiologist_zhang)["token"]
    with pytest.raises(jwt.InvalidSignatureError):
        livekit_api.TokenVerifier("alliance-hub", "another-secret-of-thirty-two-characters!").verify(issued)
    with pytest.raises(jwt.InvalidIssuerError):
        livekit_api.TokenVerifier("someone-else", livekit.LIVEKIT_API_SECRET).verify(issued)
    old = media.livekit_token(room=room, user=cardiologist_zhang, now=time.time() - 2 * livekit.LIVEKIT_TOKEN_SECONDS)
    with pytest.raises(jwt.ExpiredSignatureError):
        livekit_api.TokenVerifier("alliance-hub", livekit.LIVEKIT_API_SECRET).verify(old["token"])


@database_sync_to_async
def _invite(room, host, people):
    services.participant_invite(room_id=room.pk, actor=host, invitees=people)


@database_sync_to_async
def _experts(site, count):
    return [UserFactory(username=f"expert{n}", role=Role.SPECIALIST, site=site) for n in range(count)]


async def test_the_room_moves_to_the_sfu_past_four_and_a_connection_gets_its_token_over_the_socket(
    livekit, enter, room, dr_li_at_county_a, cardiologist_zhang, general_hospital
):
    li = await enter(dr_li_at_county_a, room)
    state = await li.join()
    assert state["media"]["mode"] == "mesh"  # two admitted: a mesh
    await _invite(room, cardiologist_zhang, await _experts(general_hospital, 2))  # four: still a mesh
    await li.send({"type": "ping", "t": 1})
    seen = []
    await li.receive_until(lambda f: seen.append(f) or f["type"] == "pong")
    assert not [f for f in seen if f["type"] == "media"]
    fifth = await database_sync_to_async(UserFactory)(username="expert9", role=Role.SPECIALIST, site=general_hospital)
    await _invite(room, cardiologist_zhang, [fifth])
    moved = await li.receive_until(lambda f: f["type"] == "media")
    assert moved == {"type": "media", "mode": "sfu"}

    await li.send({"type": "sfu"})
    frame = await li.receive_until(lambda f: f["type"] == "sfu")
    assert frame["server"] == "livekit"
    claims = livekit_api.TokenVerifier("alliance-hub", livekit.LIVEKIT_API_SECRET).verify(frame["token"])
    assert claims.identity == f"{dr_li_at_county_a.pk}:{state['me']['connection']}"
    assert frame["url"] == "wss://sfu.alliance.example"
    await li.close()
