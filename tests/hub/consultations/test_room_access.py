"""Who may be in a room: the access rules admit, a removed participant stops receiving at once."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hub.access.models import AccessGrant
from hub.access.patients import patient_visible
from hub.api_errors import ForbiddenError, NotFoundError
from hub.audit.models import AuditEvent
from hub.consultations import services
from hub.consultations.constants import CLOSE_NOT_FOUND, CLOSE_REMOVED
from hub.consultations.models import RoomEvent
from tests.hub.consultations.conftest import db

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_doctor_of_another_county_cannot_join(enter, room, dr_zhao_at_county_b):
    assert await enter(dr_zhao_at_county_b, room, expect_refusal=True) == CLOSE_NOT_FOUND


async def test_an_official_cannot_join(enter, room, official_wang):
    assert await enter(official_wang, room, expect_refusal=True) == CLOSE_NOT_FOUND


async def test_a_missing_room_and_a_forbidden_room_are_refused_alike(enter, room, dr_zhao_at_county_b):
    from hub.consultations.models import Room

    missing = Room(pk=room.pk + 1000)
    assert await enter(dr_zhao_at_county_b, missing, expect_refusal=True) == CLOSE_NOT_FOUND
    assert await enter(dr_zhao_at_county_b, room, expect_refusal=True) == CLOSE_NOT_FOUND


async def test_a_specialist_of_another_department_cannot_join(enter, room, neurologist_zhou):
    assert await enter(neurologist_zhou, room, expect_refusal=True) == CLOSE_NOT_FOUND


def test_an_outsider_cannot_read_the_chat_or_the_room(room, dr_li_at_county_a, dr_zhao_at_county_b, token_for):
    services.message_post(room_id=room.pk, actor=dr_li_at_county_a, text="胸痛加重", client_id="m1")
    outsider = Client()
    for path in (f"/api/consultations/rooms/{room.pk}/events", f"/api/consultations/rooms/{room.pk}"):
        response = outsider.get(path, **token_for(dr_zhao_at_county_b))
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "detail": "No such consultation room."}
    page = Client()
    page.force_login(dr_zhao_at_county_b)
    assert page.get(f"/consultations/rooms/{room.pk}/").status_code == 404

    inside = Client().get(f"/api/consultations/rooms/{room.pk}/events", **token_for(dr_li_at_county_a))
    assert [e["data"]["text"] for e in inside.json()["events"] if e["kind"] == "chat"] == ["胸痛加重"]


def test_admission_shares_the_patient_for_the_rooms_lifetime_and_is_audited(
    room, cardiologist_zhang, radiologist_zhao, patient
):
    ref = f"Patient/{patient['id']}"
    assert not patient_visible(radiologist_zhao, ref)

    services.participant_invite(room_id=room.pk, actor=cardiologist_zhang, invitees=[radiologist_zhao])

    assert patient_visible(radiologist_zhao, ref)
    grant = AccessGrant.objects.get(user=radiologist_zhao, source=f"room:{room.pk}")
    assert grant.reason == "room" and grant.closed_at is None
    audit = AuditEvent.objects.filter(action="grant", patient=ref, actor_id=str(cardiologist_zhang.pk))
    assert audit.filter(detail__participant=radiologist_zhao.pk).exists()

    services.participant_remove(room_id=room.pk, actor=cardiologist_zhang, user=radiologist_zhao)
    grant.refresh_from_db()
    assert grant.closed_at is not None
    assert AuditEvent.objects.filter(action="revoke", detail__participant=radiologist_zhao.pk).exists()


def test_the_end_of_the_room_closes_every_grant(room, cardiologist_zhang, radiologist_zhao, patient):
    services.participant_invite(room_id=room.pk, actor=cardiologist_zhang, invitees=[radiologist_zhao])
    services.room_end(room_id=room.pk, actor=cardiologist_zhang)
    assert not AccessGrant.objects.filter(source=f"room:{room.pk}", closed_at__isnull=True).exists()


async def test_a_removed_participant_stops_receiving_at_once(
    enter, room, dr_li_at_county_a, cardiologist_zhang, radiologist_zhao
):
    await db(services.participant_invite, room_id=room.pk, actor=cardiologist_zhang, invitees=[radiologist_zhao])
    zhang, zhao = await enter(cardiologist_zhang, room), await enter(radiologist_zhao, room)
    await zhang.join()
    await zhao.join()

    await db(services.participant_remove, room_id=room.pk, actor=cardiologist_zhang, user=radiologist_zhao)
    await zhang.chat("这条消息赵医生不应收到")

    frames = []
    while True:
        output = await zhao.ws.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            assert output["code"] == CLOSE_REMOVED
            break
        frames.append(output)
    texts = [json.loads(f["text"]) for f in frames if f.get("text")]
    assert texts[-1]["type"] == "removed"
    assert not [t for t in texts if t.get("kind") == "chat"]
    assert await zhao.ws.receive_nothing(timeout=0.5)
    assert await enter(radiologist_zhao, room, expect_refusal=True) == CLOSE_NOT_FOUND
    await zhang.close()


def test_a_removed_participant_cannot_post(room, cardiologist_zhang, radiologist_zhao):
    services.participant_invite(room_id=room.pk, actor=cardiologist_zhang, invitees=[radiologist_zhao])
    services.participant_remove(room_id=room.pk, actor=cardiologist_zhang, user=radiologist_zhao)
    with pytest.raises(NotFoundError):
        services.message_post(room_id=room.pk, actor=radiologist_zhao, text="x", client_id="late")
    assert not RoomEvent.objects.filter(room=room, kind="chat").exists()


def test_only_a_host_removes_participants(room, dr_li_at_county_a, cardiologist_zhang, radiologist_zhao):
    services.participant_invite(room_id=room.pk, actor=cardiologist_zhang, invitees=[radiologist_zhao])
    with pytest.raises(ForbiddenError):
        services.participant_remove(room_id=room.pk, actor=radiologist_zhao, user=dr_li_at_county_a)
