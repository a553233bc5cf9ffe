"""What a socket is sent live and what a socket joining later is sent about the same things are the same frames.

The live frames are built from the entry or connection just written (``selectors.event_frame``,
``connection_frame``); a joining socket's state and a catching-up socket's ``events`` are built by PostgreSQL in
one statement (``selectors.room_lists``, ``events_since``). A client shows an entry once whichever way it came,
so the two must not differ in any field, for every kind of entry and presence.
"""

from __future__ import annotations

import pytest

from hub.consultations import selectors, services
from hub.consultations.models import Room, RoomParticipant
from tests.hub.consultations.conftest import db, drain

pytestmark = pytest.mark.django_db(transaction=True)


def _admitted_participants(room_id: int) -> list[dict]:
    rows = RoomParticipant.objects.filter(room_id=room_id, removed_at__isnull=True).select_related("user", "user__site")
    return [selectors.participant_frame(p) for p in rows.order_by("pk")]


async def test_a_later_join_is_sent_the_frames_the_room_was_sent_live(
    enter, room, dr_li_at_county_a, cardiologist_zhang, radiologist_zhao, ecg
):
    zhang = await enter(cardiologist_zhang, room)
    first = await zhang.join(device="pc")
    frames: list[dict] = []  # everything Zhang's socket is sent from here on

    async def until(predicate):
        while True:
            frames.append(await zhang.receive())
            if predicate(frames[-1]):
                return

    def entry(kind):
        return lambda f: f["type"] == "event" and f["kind"] == kind

    li = await enter(dr_li_at_county_a, room)
    await li.join(device="phone")
    await li.chat("患者胸痛加重，血压 90/60", client_id="c-1")
    ecg_ref = f"DiagnosticReport/{ecg['id']}"
    await li.send({"type": "present", "ref": ecg_ref})
    await until(entry("presented"))
    shape = {"kind": "arrow", "points": [[0.1, 0.2], [0.4, 0.5]], "color": "#ff0000", "text": "ST↑"}
    await zhang.send({"type": "annotate", "id": "a-1", "target": ecg_ref, "shape": shape})
    await zhang.send({"type": "decision", "id": "d-1", "decision": "diagnosis", "text": "急性前壁心梗"})
    await li.send(
        {"type": "presence", "audio_muted": True, "video_muted": True, "sources": [{"kind": "camera", "stream": "s1"}]}
    )
    await db(services.participant_invite, room_id=room.pk, actor=cardiologist_zhang, invitees=[radiologist_zhao])
    await db(services.participant_remove, room_id=room.pk, actor=cardiologist_zhang, user=radiologist_zhao)
    await li.send({"type": "present", "ref": None})
    await until(lambda f: f["type"] == "event" and f["kind"] == "presented" and f["data"]["ref"] is None)
    await li.ws.disconnect()  # no leave: the phone lost signal, its connection is "reconnecting"
    await until(lambda f: f["type"] == "presence" and f["connection"]["state"] == "reconnecting")
    frames.extend(await drain(zhang))
    assert not [f for f in frames if f["type"] == "error"], frames

    # (Zhang's own "joined" is sent to him live right after his state, which counts it: left out below.)
    live_events = [f for f in frames if f["type"] == "event" and f["seq"] > first["room"]["seq"]]
    kinds = {e["kind"] for e in live_events}
    assert {"joined", "chat", "presented", "annotation", "decision", "admitted", "removed"} <= kinds, kinds
    live_presence = {}
    for frame in frames:
        if frame["type"] == "presence":
            live_presence[frame["connection"]["id"]] = frame["connection"]

    later = await enter(cardiologist_zhang, room)
    state = await later.join(since=first["room"]["seq"], device="tablet")
    assert len(state["events"]) == len(live_events)
    for replayed, live in zip(state["events"], live_events, strict=True):
        # A chat entry's FHIR Communication is written just after it is sent live: its reference may be new.
        assert {**replayed, "fhir": ""} == live
        assert replayed["fhir"] == live["fhir"] or (
            live["kind"] == "chat" and replayed["fhir"].startswith("Communication/")
        )
    by_id = {c["id"]: c for c in state["presence"]}
    li_connection = next(c for c in live_presence.values() if c["user"]["id"] == dr_li_at_county_a.pk)
    assert li_connection["state"] == "reconnecting" and li_connection["audio_muted"] is True
    assert by_id[li_connection["id"]] == li_connection
    assert state["participants"] == await db(_admitted_participants, room.pk)
    assert radiologist_zhao.pk not in {p["id"] for p in state["participants"]}

    # The whole log from the start: every entry as the ORM reads it, including those written without an actor.
    everything, truncated = await db(selectors.events_since, room=room, since=0)
    assert not truncated
    stored = await db(lambda: [selectors.event_frame(e) for e in room.events.select_related("actor", "actor__site")])
    assert everything == sorted(stored, key=lambda f: f["seq"])
    assert any(e["actor"] is None for e in everything), "no entry without an actor was compared"
    await zhang.close()
    await later.close()


async def test_a_long_log_is_sent_from_its_latest_entries_and_says_it_was_cut(enter, room, dr_li_at_county_a):
    for n in range(7):
        await db(services.message_post, room_id=room.pk, actor=dr_li_at_county_a, text=f"第{n}条", client_id=f"m{n}")
    last = (await db(Room.objects.get, pk=room.pk)).last_seq
    events, truncated = await db(selectors.events_since, room=room, since=0, limit=3)
    assert truncated and [e["seq"] for e in events] == [last - 2, last - 1, last]
    events, truncated = await db(selectors.events_since, room=room, since=last - 3, limit=3)
    assert not truncated and [e["seq"] for e in events] == [last - 2, last - 1, last]
    assert await db(selectors.events_since, room=room, since=last, limit=3) == ([], False)
