"""Rooms larger than a mesh through a real Janus WebRTC Server (Debian's ``janus``, ``deploy/janus/``): the hub
creates the Janus room, hands each admitted connection a signed token and an access token over the room's
socket, and a removal or the room's end reaches Janus through the outbox.

``Browser`` below speaks the Janus API as the room page's script does (``sfu-janus.js``), over Janus's HTTP
transport instead of its WebSocket: the same requests, the same answers."""

from __future__ import annotations

import secrets

import httpx
import pytest
from channels.db import database_sync_to_async

from federation.outbox.models import OutboxMessage
from hub.accounts.constants import Role
from hub.consultations import janus as hub_janus
from hub.consultations import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


class JanusRefused(Exception):
    def __init__(self, code, reason):
        super().__init__(f"{code}: {reason}")
        self.code = code


class Browser:
    """One browser's Janus session with the VideoRoom plugin attached."""

    def __init__(self, api_url: str, token: str):
        self.api, self.token = api_url, token
        self.session = self._post("", {"janus": "create"})["data"]["id"]
        self.handle = self._post(f"/{self.session}", {"janus": "attach", "plugin": hub_janus.PLUGIN})["data"]["id"]

    def _post(self, path, body):
        body = {"transaction": secrets.token_hex(6), "token": self.token, **body}
        answer = httpx.post(self.api + path, json=body, timeout=5).json()
        if answer["janus"] == "error":
            raise JanusRefused(answer["error"]["code"], answer["error"]["reason"])
        return answer

    def ask(self, body) -> dict:
        transaction = secrets.token_hex(6)
        answer = self._post(
            f"/{self.session}/{self.handle}", {"janus": "message", "body": body, "transaction": transaction}
        )
        while answer["janus"] == "ack":  # an asynchronous request (join): its event comes on the long poll
            poll = httpx.get(f"{self.api}/{self.session}", params={"maxev": 10, "token": self.token}, timeout=35)
            for event in poll.json():
                if isinstance(event, dict) and event.get("transaction") == transaction and "plugindata" in event:
                    answer = event
        data = answer["plugindata"]["data"]
        if data.get("error_code"):
            raise JanusRefused(data["error_code"], data["error"])
        return data

    def join(self, frame, *, access=None, display=None) -> dict:
        return self.ask(
            {
                "request": "join",
                "ptype": "publisher",
                "room": frame["room"],
                "token": frame["access"] if access is None else access,
                "display": display or frame["display"],
            }
        )


@database_sync_to_async
def _invite(room, host, people):
    services.participant_invite(room_id=room.pk, actor=host, invitees=people)


@database_sync_to_async
def _expert(site, name="expert1"):
    return UserFactory(username=name, role=Role.SPECIALIST, site=site)


@database_sync_to_async
def _remove(room, host, user):
    services.participant_remove(room_id=room.pk, actor=host, user=user)


@database_sync_to_async
def _end(room, host):
    services.room_end(room_id=room.pk, actor=host)


@database_sync_to_async
def _outbox(kind):
    return list(OutboxMessage.objects.filter(kind=kind).values_list("state", flat=True))


async def _sfu_frame(peer) -> dict:
    await peer.send({"type": "sfu"})
    return await peer.receive_until(lambda f: f["type"] in ("sfu", "error"))


async def _expert_in_janus(janus, enter, room, host, site) -> tuple:
    """An invited expert whose tab joined the room and whose browser joined the Janus room with what it got."""
    expert = await _expert(site)
    await _invite(room, host, [expert])
    tab = await enter(expert, room)
    await tab.join()
    frame = await _sfu_frame(tab)
    Browser(janus["api_url"], frame["token"]).join(frame)
    return expert, frame


async def test_the_hub_opens_the_janus_room_and_a_connection_joins_it_with_what_the_socket_gave(
    janus, enter, room, dr_li_at_county_a
):
    li = await enter(dr_li_at_county_a, room)
    state = await li.join()
    assert state["media"]["sfu"] == "janus"
    frame = await _sfu_frame(li)
    assert frame["type"] == "sfu" and frame["server"] == "janus", frame
    assert frame["url"] == janus["url"] and frame["room"] == room.pk
    assert frame["display"] == f"{dr_li_at_county_a.pk}:{state['me']['connection']}"

    browser = Browser(janus["api_url"], frame["token"])
    joined = browser.join(frame)
    assert joined["videoroom"] == "joined" and joined["room"] == room.pk
    # Asking again (a second tab, a reconnect) finds the room there and gives the same admission's token.
    again = await _sfu_frame(li)
    assert again["access"] == frame["access"] and again["room"] == room.pk
    await li.close()


async def test_janus_refuses_what_the_hub_did_not_issue(janus, enter, room, dr_li_at_county_a):
    li = await enter(dr_li_at_county_a, room)
    await li.join()
    frame = await _sfu_frame(li)
    browser = Browser(janus["api_url"], frame["token"])
    # Another access token, or none: not on the room's list.
    with pytest.raises(JanusRefused):
        browser.join(frame, access="a" * 40)
    # A browser cannot create rooms: the VideoRoom plugin wants the admin key, which only the hub has.
    with pytest.raises(JanusRefused) as refused:
        browser.ask({"request": "create", "room": 987654, "permanent": False})
    assert refused.value.code in (429, 403)
    # A token signed with another secret, or expired, opens no session at all.
    forged = frame["token"].rsplit(":", 1)[0] + ":" + "A" * 28
    with pytest.raises(JanusRefused) as refused:
        Browser(janus["api_url"], forged)
    assert refused.value.code == 403
    with pytest.raises(JanusRefused):
        Browser(janus["api_url"], hub_janus.signed_token(ttl=-10))
    await li.close()


async def test_a_removed_participant_is_kicked_from_janus_and_cannot_join_again(
    janus, enter, room, dr_li_at_county_a, cardiologist_zhang, general_hospital
):
    expert, frame = await _expert_in_janus(janus, enter, room, cardiologist_zhang, general_hospital)

    zhang = await enter(cardiologist_zhang, room)
    await zhang.join()
    host_frame = await _sfu_frame(zhang)
    host = Browser(janus["api_url"], host_frame["token"])
    host.join(host_frame)
    listed = host.ask({"request": "listparticipants", "room": room.pk})["participants"]
    assert {p["display"].split(":")[0] for p in listed} == {str(expert.pk), str(cardiologist_zhang.pk)}

    await _remove(room, cardiologist_zhang, expert)
    assert await _outbox(hub_janus.SFU_REVOKE_KIND) == ["delivered"]
    listed = host.ask({"request": "listparticipants", "room": room.pk})["participants"]
    assert [p["display"].split(":")[0] for p in listed] == [str(cardiologist_zhang.pk)]
    # The removed browser's access is off the list: joining again is refused, from a new session too.
    with pytest.raises(JanusRefused):
        Browser(janus["api_url"], frame["token"]).join(frame)
    # The others' access still holds.
    Browser(janus["api_url"], host_frame["token"]).join(host_frame, display=f"{cardiologist_zhang.pk}:second-tab")
    await zhang.close()


async def test_admitted_again_after_a_removal_a_participant_gets_a_new_access_token(
    janus, enter, room, cardiologist_zhang, general_hospital
):
    expert = await _expert(general_hospital)
    await _invite(room, cardiologist_zhang, [expert])
    tab = await enter(expert, room)
    await tab.join()
    first = await _sfu_frame(tab)
    await _remove(room, cardiologist_zhang, expert)
    await _invite(room, cardiologist_zhang, [expert])
    tab = await enter(expert, room)
    await tab.join()
    second = await _sfu_frame(tab)
    assert second["access"] != first["access"]
    Browser(janus["api_url"], second["token"]).join(second)
    await tab.close()


async def test_the_rooms_end_destroys_the_janus_room(janus, enter, room, dr_li_at_county_a, cardiologist_zhang):
    li = await enter(dr_li_at_county_a, room)
    await li.join()
    frame = await _sfu_frame(li)
    browser = Browser(janus["api_url"], frame["token"])
    browser.join(frame)
    assert browser.ask({"request": "exists", "room": room.pk})["exists"] is True

    await _end(room, cardiologist_zhang)
    assert await _outbox(hub_janus.SFU_CLOSE_KIND) == ["delivered"]
    assert browser.ask({"request": "exists", "room": room.pk})["exists"] is False


async def test_an_unreachable_janus_gets_an_error_frame_and_the_room_goes_on(
    janus, settings, enter, room, dr_li_at_county_a
):
    from tests.conftest import free_port

    settings.JANUS_API_URL = f"http://127.0.0.1:{free_port()}/janus"
    li = await enter(dr_li_at_county_a, room)
    await li.join()
    frame = await _sfu_frame(li)
    assert frame["type"] == "error" and frame["code"] == "sfu_unavailable"
    assert (await li.chat("视频服务器暂不可用"))["type"] == "ack"
    await li.close()


async def test_a_removal_while_janus_is_down_is_retried_by_the_outbox(
    janus, settings, enter, room, cardiologist_zhang, general_hospital
):
    from federation.outbox.services import outbox_deliver
    from tests.conftest import free_port

    expert, frame = await _expert_in_janus(janus, enter, room, cardiologist_zhang, general_hospital)

    up = settings.JANUS_API_URL
    settings.JANUS_API_URL = f"http://127.0.0.1:{free_port()}/janus"
    await _remove(room, cardiologist_zhang, expert)
    message = await database_sync_to_async(OutboxMessage.objects.get)(kind=hub_janus.SFU_REVOKE_KIND)
    assert (message.state, message.attempts) == ("pending", 1) and "Janus" in message.last_error

    settings.JANUS_API_URL = up
    await database_sync_to_async(outbox_deliver)(message_id=message.pk, now=message.next_attempt_at)
    assert await _outbox(hub_janus.SFU_REVOKE_KIND) == ["delivered"]
    with pytest.raises(JanusRefused):
        Browser(janus["api_url"], frame["token"]).join(frame)


async def test_only_the_admitted_reach_the_sfu_frame(janus, enter, room, general_hospital):
    outsider = await _expert(general_hospital, "not_invited")
    assert await enter(outsider, room, expect_refusal=True)  # the socket is refused: no frame at all
    listed = await database_sync_to_async(_janus_rooms)()
    assert room.pk not in listed  # and no Janus room was made for the asking


def _janus_rooms() -> set[int]:
    with hub_janus.Session() as session:
        return {r["room"] for r in session.request({"request": "list", "admin_key": "admin-key"}).get("list", [])}
