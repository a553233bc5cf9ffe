"""Bad input on every frame type: an error frame, the connection stays up, nothing is stored."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from fhir_gateway.models import Resource
from hub.consultations.consumers import RoomConsumer
from hub.consultations.models import Annotation, Room, RoomConnection, RoomEvent

pytestmark = pytest.mark.django_db(transaction=True)

BAD_FRAMES = [
    ("chat", {"type": "chat", "text": "no id"}),
    ("chat", {"type": "chat", "id": "x" * 65, "text": "too long an id"}),
    ("chat", {"type": "chat", "id": "m1", "text": ""}),
    ("chat", {"type": "chat", "id": "m2", "text": "   "}),
    ("chat", {"type": "chat", "id": "m3", "text": "长" * 4001}),
    ("chat", {"type": "chat", "id": "m4", "text": ["not", "text"]}),
    ("chat", {"type": "chat", "id": "m 5", "text": "space in id"}),
    ("present", {"type": "present"}),
    ("present", {"type": "present", "ref": "Patient/../../x"}),
    ("present", {"type": "present", "ref": "Binary/abc"}),
    ("present", {"type": "present", "ref": "DiagnosticReport/does-not-exist"}),
    ("present", {"type": "present", "ref": 12}),
    ("annotate", {"type": "annotate", "id": "a1", "target": "DiagnosticReport/x", "shape": {"kind": "arrow"}}),
    ("annotate", {"type": "annotate", "id": "a2", "target": "DiagnosticReport/x", "shape": "arrow"}),
    ("annotate", {"type": "annotate", "id": "a3", "shape": {"kind": "line", "points": [[0, 0]]}}),
    (
        "annotate",
        {"type": "annotate", "id": "a4", "target": "DiagnosticReport/x", "shape": {"kind": "line", "points": [[2, 0]]}},
    ),
    (
        "annotate",
        {"type": "annotate", "id": "a5", "target": "DiagnosticReport/x", "shape": {"kind": "blob", "points": [[0, 0]]}},
    ),
    ("decision", {"type": "decision", "id": "d1", "decision": "amputate", "text": "x"}),
    ("decision", {"type": "decision", "id": "d2", "decision": "diagnosis", "text": ""}),
    ("decision", {"type": "decision", "decision": "diagnosis", "text": "STEMI"}),
    ("presence", {"type": "presence", "audio_muted": "yes", "video_muted": False}),
    ("presence", {"type": "presence", "audio_muted": True, "video_muted": False, "sources": [{"kind": "xray"}]}),
    ("presence", {"type": "presence", "audio_muted": True, "video_muted": False, "sources": "camera"}),
    ("speaking", {"type": "speaking", "speaking": "loud"}),
    ("signal", {"type": "signal", "description": {"type": "offer", "sdp": ""}}),
    ("signal", {"type": "signal", "to": "someone"}),
    ("signal", {"type": "signal", "to": "someone", "description": {"type": "boom", "sdp": ""}}),
    ("signal", {"type": "signal", "to": "someone", "candidate": "a=candidate"}),
    ("pointer", {"type": "pointer", "owner": "c1", "source": "ultrasound", "x": 1.5, "y": 0.2}),
    ("pointer", {"type": "pointer", "owner": "c1", "source": "xray", "x": 0.5, "y": 0.2}),
    ("pointer", {"type": "pointer", "source": "ultrasound", "x": 0.5, "y": 0.2}),
    ("sync", {"type": "sync", "since": -1}),
    ("sync", {"type": "sync", "since": "0"}),
    ("join", {"type": "join", "session": "s-again-12345", "device": {"kind": "phone"}}),
    ("unknown", {"type": "teleport"}),
    ("unknown", {"no": "type"}),
    ("unknown", ["a", "list"]),
]


@database_sync_to_async
def stored(room):
    return (
        RoomEvent.objects.filter(room=room).count(),
        Annotation.objects.count(),
        Resource.objects.filter(resource_type__in=["Communication", "Media", "Binary"]).count(),
        Room.objects.get(pk=room.pk).presented,
        list(RoomConnection.objects.filter(room=room).values_list("audio_muted", "sources")),
    )


async def test_a_bad_frame_of_every_type_gets_an_error_and_the_connection_stays_up(enter, room, dr_li_at_county_a):
    li = await enter(dr_li_at_county_a, room)
    await li.join()
    await li.receive_until(lambda f: f["type"] == "event" and f["kind"] == "joined")
    before = await stored(room)
    types = set()

    for kind, frame in BAD_FRAMES:
        await li.ws.send_json_to(frame)
        error = await li.receive_until(lambda f: f["type"] in ("error", "ack", "event"))
        assert error["type"] == "error" and error["code"] and error["detail"], (frame, error)
        await li.send({"type": "ping", "t": 1})
        assert (await li.receive_until(lambda f: f["type"] in ("pong", "error")))["type"] == "pong", frame
        assert await stored(room) == before, frame
        types.add(kind)

    assert types >= set(RoomConsumer.HANDLERS) - {"ping", "leave", "sfu"}
    ack = await li.chat("连接仍然正常")
    assert ack["type"] == "ack"
    await li.close()


async def test_sfu_access_is_refused_without_a_media_server(enter, room, dr_li_at_county_a, settings):
    settings.LIVEKIT_URL = settings.JANUS_URL = ""
    li = await enter(dr_li_at_county_a, room)
    await li.join()
    await li.send({"type": "sfu"})
    assert (await li.receive_until(lambda f: f["type"] == "error"))["code"] == "no_sfu"
    assert (await li.chat("仍在线"))["type"] == "ack"
    await li.close()


async def test_text_that_is_not_json_gets_an_error(enter, room, dr_li_at_county_a):
    li = await enter(dr_li_at_county_a, room)
    await li.join()
    await li.ws.send_to(text_data="{not json")
    assert (await li.receive_until(lambda f: f["type"] == "error"))["code"] == "invalid_json"
    await li.ws.send_to(bytes_data=b"\x00\x01")
    assert (await li.receive_until(lambda f: f["type"] == "error"))["code"] == "invalid"
    assert (await li.chat("还在"))["type"] == "ack"
    await li.close()


async def test_frames_before_joining_are_refused_but_the_socket_stays(enter, room, dr_li_at_county_a):
    li = await enter(dr_li_at_county_a, room)
    await li.send({"type": "chat", "id": "early", "text": "hi"})
    assert (await li.receive())["code"] == "join_first"
    for bad in (
        {"type": "join", "session": "short", "device": {"kind": "phone"}},
        {"type": "join", "session": "long-enough-session", "device": {"kind": "toaster"}},
        {"type": "join", "session": "long-enough-session", "device": "phone"},
        {"type": "join", "session": "long-enough-session", "since": "5", "device": {"kind": "phone"}},
    ):
        await li.send(bad)
        assert (await li.receive_until(lambda f: f["type"] == "error"))["for"] == "join"
    assert await database_sync_to_async(RoomConnection.objects.filter(room=room).count)() == 0
    await li.join()
    await li.close()
