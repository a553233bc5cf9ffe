"""The room protocol over the websocket: join, presence, chat, present, leave, reconnect with missed messages."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async

from fhir_gateway.models import Resource
from hub.consultations import services
from hub.consultations.models import RoomConnection, RoomEvent
from tests.hub.consultations.conftest import db, drain

pytestmark = pytest.mark.django_db(transaction=True)


async def test_joining_gives_the_room_state_and_tells_the_others(
    enter, room, dr_li_at_county_a, cardiologist_zhang, patient
):
    li = await enter(dr_li_at_county_a, room)
    state = await li.join(device="phone")
    assert state["room"]["patient"] == f"Patient/{patient['id']}"
    assert {p["id"] for p in state["participants"]} == {dr_li_at_county_a.pk, cardiologist_zhang.pk}
    assert [c["user"]["id"] for c in state["presence"]] == [dr_li_at_county_a.pk]
    assert state["me"]["connection"] == state["presence"][0]["id"]
    assert state["media"]["mode"] == "mesh"

    zhang = await enter(cardiologist_zhang, room)
    await zhang.join(device="pc")
    presence = await li.receive_until(lambda f: f["type"] == "presence" and f["connection"]["device"] == "pc")
    assert presence["connection"]["user"]["id"] == cardiologist_zhang.pk
    joined = await li.receive_until(lambda f: f["type"] == "event" and f["kind"] == "joined")
    assert joined["actor"]["id"] == cardiologist_zhang.pk
    await li.close()
    await zhang.close()


async def test_presence_changes_reach_everyone(enter, room, dr_li_at_county_a, cardiologist_zhang):
    li, zhang = await enter(dr_li_at_county_a, room), await enter(cardiologist_zhang, room)
    await li.join()
    await zhang.join()
    await li.send(
        {"type": "presence", "audio_muted": True, "video_muted": False, "sources": [{"kind": "camera", "stream": "s1"}]}
    )
    muted = await zhang.receive_until(lambda f: f["type"] == "presence" and f["connection"]["audio_muted"])
    assert muted["connection"]["user"]["id"] == dr_li_at_county_a.pk
    assert muted["connection"]["sources"] == [{"kind": "camera", "stream": "s1"}]
    await li.send({"type": "speaking", "speaking": True})
    speaking = await zhang.receive_until(lambda f: f["type"] == "speaking")
    assert speaking == {"type": "speaking", "connection": li.state["me"]["connection"], "speaking": True}
    await li.close()
    await zhang.close()


async def test_a_message_reaches_every_other_participant_in_order_and_is_stored_as_a_communication(
    enter, room, dr_li_at_county_a, cardiologist_zhang, radiologist_zhao
):
    await db(services.participant_invite, room_id=room.pk, actor=cardiologist_zhang, invitees=[radiologist_zhao])
    li, zhang, zhao = [await enter(u, room) for u in (dr_li_at_county_a, cardiologist_zhang, radiologist_zhao)]
    for peer in (li, zhang, zhao):
        await peer.join()

    first = await li.chat("患者血压 90/60，心率 110")
    second = await li.chat("肌钙蛋白已送检")
    assert first["type"] == second["type"] == "ack" and first["seq"] < second["seq"]

    for peer in (zhang, zhao):
        got = [await peer.receive_until(lambda f: f["type"] == "event" and f["kind"] == "chat") for _ in range(2)]
        assert [g["data"]["text"] for g in got] == ["患者血压 90/60，心率 110", "肌钙蛋白已送检"]
        assert got[0]["actor"]["id"] == dr_li_at_county_a.pk
    stored = await db(lambda: list(RoomEvent.objects.filter(room=room, kind="chat").order_by("seq")))
    assert [e.fhir_ref.split("/")[0] for e in stored] == ["Communication", "Communication"]
    communication = await db(
        lambda: Resource.objects.get(resource_type="Communication", fhir_id=stored[0].fhir_ref.split("/")[1])
    )
    assert communication.owner == "county-a"
    for peer in (li, zhang, zhao):
        await peer.close()


async def test_a_resent_message_is_stored_and_shown_once(enter, room, dr_li_at_county_a, cardiologist_zhang):
    li, zhang = await enter(dr_li_at_county_a, room), await enter(cardiologist_zhang, room)
    await li.join()
    await zhang.join()
    first = await li.chat("请看心电图", client_id="msg-1")
    again = await li.chat("请看心电图", client_id="msg-1")
    assert again["seq"] == first["seq"] and again["duplicate"] is True
    await zhang.receive_until(lambda f: f["type"] == "event" and f["kind"] == "chat")
    assert not [f for f in await drain(zhang) if f["type"] == "event" and f["kind"] == "chat"]
    count = await db(lambda: RoomEvent.objects.filter(room=room, kind="chat").count())
    assert count == 1
    await li.close()
    await zhang.close()


async def test_presenting_a_record_makes_everyones_view_follow(enter, room, dr_li_at_county_a, cardiologist_zhang, ecg):
    li, zhang = await enter(dr_li_at_county_a, room), await enter(cardiologist_zhang, room)
    await li.join()
    await zhang.join()
    await zhang.send({"type": "present", "ref": f"DiagnosticReport/{ecg['id']}"})
    for peer in (li, zhang):
        shown = await peer.receive_until(lambda f: f["type"] == "event" and f["kind"] == "presented")
        assert shown["data"]["ref"] == f"DiagnosticReport/{ecg['id']}"

    late = await enter(dr_li_at_county_a, room)
    state = await late.join()
    assert state["presented"]["ref"] == f"DiagnosticReport/{ecg['id']}"

    shape = {"kind": "arrow", "points": [[0.2, 0.3], [0.4, 0.35]], "color": "#ff0000"}
    await zhang.send({"type": "annotate", "id": "a-1", "target": f"DiagnosticReport/{ecg['id']}", "shape": shape})
    mark = await li.receive_until(lambda f: f["type"] == "event" and f["kind"] == "annotation")
    assert mark["data"]["shape"]["points"] == [[0.2, 0.3], [0.4, 0.35]]
    again = await enter(cardiologist_zhang, room)
    state = await again.join()
    assert [a["shape"]["kind"] for a in state["annotations"]] == ["arrow"]
    for peer in (li, zhang, late, again):
        await peer.close()


async def test_leaving_tells_the_room_and_ends_presence(enter, room, dr_li_at_county_a, cardiologist_zhang):
    li, zhang = await enter(dr_li_at_county_a, room), await enter(cardiologist_zhang, room)
    await li.join()
    await zhang.join()
    await zhang.send({"type": "leave"})
    gone = await li.receive_until(lambda f: f["type"] == "presence.left")
    assert gone["user"] == cardiologist_zhang.pk
    left = await li.receive_until(lambda f: f["type"] == "event" and f["kind"] == "left")
    assert left["actor"]["id"] == cardiologist_zhang.pk
    assert await db(lambda: RoomConnection.objects.filter(room=room, user=cardiologist_zhang).count()) == 0
    await li.close()


async def test_a_phone_that_loses_signal_rejoins_with_everything_it_missed(
    enter, room, dr_li_at_county_a, cardiologist_zhang
):
    li = await enter(dr_li_at_county_a, room, session="li-phone-tab-1")
    zhang = await enter(cardiologist_zhang, room)
    state = await li.join()
    await zhang.join()
    await li.chat("开始会诊")
    seen = (await li.receive_until(lambda f: f["type"] == "event" and f["kind"] == "chat"))["seq"]
    connection = state["me"]["connection"]

    await li.close()  # the signal is gone: no goodbye
    # (a presence frame published just before Zhang joined may still reach him, in order: the latest one counts)
    dropped = await zhang.receive_until(
        lambda f: (
            f["type"] == "presence" and f["connection"]["id"] == connection and f["connection"]["state"] != "connected"
        )
    )
    assert dropped["connection"]["state"] == "reconnecting"
    for text in ("ST段抬高明显", "建议立即转运行PCI"):
        await zhang.chat(text)

    back = await enter(dr_li_at_county_a, room, session="li-phone-tab-1")
    state = await back.join(since=seen)
    assert state["me"]["connection"] == connection  # the same connection, not a new participant
    missed = [e["data"]["text"] for e in state["events"] if e["kind"] == "chat"]
    assert missed == ["ST段抬高明显", "建议立即转运行PCI"]
    assert all(e["seq"] > seen for e in state["events"])
    kinds = await db(lambda: list(RoomEvent.objects.filter(room=room).values_list("kind", flat=True)))
    assert kinds.count("left") == 0 and kinds.count("joined") == 2
    restored = await zhang.receive_until(lambda f: f["type"] == "presence" and f["connection"]["id"] == connection)
    assert restored["connection"]["state"] == "connected"
    await back.close()
    await zhang.close()


async def test_a_gap_is_filled_by_asking_for_the_log_since_the_last_seen_entry(
    enter, room, dr_li_at_county_a, cardiologist_zhang
):
    li = await enter(dr_li_at_county_a, room)
    await li.join()
    first = await li.chat("一")
    await li.chat("二")
    await li.send({"type": "sync", "since": first["seq"]})
    replay = await li.receive_until(lambda f: f["type"] == "events")
    assert [e["data"].get("text") for e in replay["events"] if e["kind"] == "chat"] == ["二"]
    await li.close()


async def test_signalling_reaches_only_the_named_connection(enter, room, dr_li_at_county_a, cardiologist_zhang):
    li, zhang = await enter(dr_li_at_county_a, room), await enter(cardiologist_zhang, room)
    li_state = await li.join()
    zhang_state = await zhang.join()
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    await zhang.send({"type": "signal", "to": li_state["me"]["connection"], "description": offer})
    got = await li.receive_until(lambda f: f["type"] == "signal")
    assert got == {"type": "signal", "from": zhang_state["me"]["connection"], "description": offer}
    await li.send({"type": "signal", "to": zhang_state["me"]["connection"], "candidate": {"candidate": "a=x"}})
    got = await zhang.receive_until(lambda f: f["type"] == "signal")
    assert got["candidate"] == {"candidate": "a=x"}
    await li.close()
    await zhang.close()


async def test_frames_flow_while_the_shared_sync_thread_is_busy(enter, room, dr_li_at_county_a, cardiologist_zhang):
    """The room's frames never wait for Django's one shared sync thread (Channels' consumers hop to it before
    every message they handle; a busy room would queue all of the process's frames behind it)."""
    li, zhang = await enter(dr_li_at_county_a, room), await enter(cardiologist_zhang, room)
    await li.join()
    await zhang.join()
    await drain(li)
    await drain(zhang)
    busy = asyncio.ensure_future(sync_to_async(time.sleep)(4))  # thread-sensitive: the one shared thread
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await li.send({"type": "speaking", "speaking": True})
    await zhang.receive_until(lambda f: f["type"] == "speaking", timeout=2)
    ack = await li.chat("心电图已上传")
    await zhang.receive_until(lambda f: f["type"] == "event" and f["kind"] == "chat", timeout=2)
    assert ack["type"] == "ack"
    assert time.monotonic() - started < 2, "a frame waited for the shared sync thread"
    assert not busy.done()
    await busy
    await li.close()
    await zhang.close()
