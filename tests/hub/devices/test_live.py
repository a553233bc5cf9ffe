"""The live view's websocket: admitted viewers only (the same entitlement as the patient's record), opening it
audited, frames fanned out as they arrive, alarms raised, acknowledged (FHIR Flag, Observation with its
interpretation, DetectedIssue) and escalated; strips saved to the record; bad frames answered with errors."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from hub.asgi import application
from hub.devices.ingest.pipeline import message_from_json, message_ingest
from tests.hub.devices.conftest import receive, vitals

pytestmark = pytest.mark.django_db(transaction=True)


def ingest(body, key="mon-03"):
    return message_ingest(message_from_json(payload=body, site_code="county-a", device_key=key, path="mqtt"))


async def test_the_county_doctor_sees_live_numerics_and_the_open_is_audited(viewer, bound, patient, dr_li_at_county_a):
    from hub.audit.models import AuditEvent

    socket = await viewer(dr_li_at_county_a, patient["id"])
    snapshot = await receive(socket, "snapshot")
    assert [d["key"] for d in snapshot["devices"]] == ["mon-03"]
    await database_sync_to_async(ingest)(vitals(hr=77))
    frame = await receive(socket, "vitals")
    assert frame["numerics"]["hr"] == 77 and frame["device"] == "mon-03"
    audited = await database_sync_to_async(
        lambda: AuditEvent.objects.filter(patient=f"Patient/{patient['id']}", detail__via="devices-websocket").count()
    )()
    assert audited == 1


async def test_the_referred_specialist_is_admitted_others_are_not(
    viewer, bound, patient, referral, cardiologist_zhang, neurologist_zhou, official_wang, dr_zhao_at_county_b
):
    socket = await viewer(cardiologist_zhang, patient["id"])
    assert not isinstance(socket, int)
    await receive(socket, "snapshot")
    for outsider in (neurologist_zhou, official_wang, dr_zhao_at_county_b):
        assert await viewer(outsider, patient["id"]) == 4404, outsider
    assert await viewer(cardiologist_zhang, "no-such-patient") == 4404  # missing and forbidden alike


async def test_anonymous_is_refused(bound, patient):
    socket = WebsocketCommunicator(
        application, f"/ws/devices/patients/{patient['id']}/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, code = await socket.connect(timeout=5)
    assert not connected and code == 4401


async def test_an_alarm_reaches_the_viewer_is_recorded_and_acknowledged(
    viewer, bound, patient, referral, dr_li_at_county_a, cardiologist_zhang
):
    from fhir_gateway import services
    from fhir_gateway.context import INTERNAL_ACTOR
    from hub.devices.models import Alarm

    socket = await viewer(cardiologist_zhang, patient["id"])
    await receive(socket, "snapshot")
    await database_sync_to_async(ingest)(vitals(spo2=82))  # below the adult critical limit (85)
    alarm = await receive(socket, "alarm")
    assert alarm["priority"] == "high" and alarm["condition"] == "spo2_low" and not alarm["acknowledged"]
    await database_sync_to_async(ingest)(vitals(spo2=81))  # the same condition, still open: no second alarm
    assert await database_sync_to_async(Alarm.objects.count)() == 1
    row = await database_sync_to_async(Alarm.objects.get)()

    def read(resource_type, fhir_id):
        return services.resource_read(resource_type=resource_type, fhir_id=fhir_id, actor=INTERNAL_ACTOR)

    observation = await database_sync_to_async(read)("Observation", row.observation_id)
    assert observation["interpretation"][0]["coding"][0]["code"] == "LL"
    assert observation["code"]["coding"][0]["code"] == "59408-5"
    flag = await database_sync_to_async(read)("Flag", row.flag_id)
    assert flag["status"] == "active"

    await socket.send_json_to({"type": "ack", "alarm": row.pk})
    acked = await receive(socket, "ack")
    assert acked["alarm"] == row.pk
    row = await database_sync_to_async(Alarm.objects.select_related("acknowledged_by").get)()
    assert row.acknowledged_by == cardiologist_zhang
    assert (await database_sync_to_async(read)("Flag", row.flag_id))["status"] == "inactive"
    issue = await database_sync_to_async(read)("DetectedIssue", row.detected_issue_id)
    assert issue["mitigation"][0]["action"]["text"].startswith("Acknowledged by")
    await socket.send_json_to({"type": "ack", "alarm": row.pk})
    assert (await receive(socket, "error"))["code"] == "conflict"


async def test_an_alarm_notifies_the_treating_team_only(
    bound, patient, referral, dr_li_at_county_a, neurologist_zhou, token_for
):
    sockets = {}
    for name, user in (("li", dr_li_at_county_a), ("zhou", neurologist_zhou)):
        headers = await database_sync_to_async(token_for)(user)
        sockets[name] = WebsocketCommunicator(
            application,
            "/ws/notifications/",
            headers=[(b"origin", b"http://127.0.0.1"), (b"authorization", headers["HTTP_AUTHORIZATION"].encode())],
        )
        assert (await sockets[name].connect())[0]
    try:
        await database_sync_to_async(ingest)(vitals(hr=170))
        message = await sockets["li"].receive_json_from(timeout=5)
        assert message["event"] == "device.alarm"
        assert await sockets["zhou"].receive_nothing(timeout=0.3)
    finally:
        for socket in sockets.values():
            await socket.disconnect()


async def test_unacknowledged_alarms_escalate(bound, patient, referral, settings):
    from hub.devices.alarms import alarms_escalate
    from hub.devices.models import Alarm

    settings.DEVICES_ESCALATE_SECONDS = 5
    await database_sync_to_async(ingest)(vitals(hr=30))
    from datetime import timedelta

    from django.utils import timezone

    await database_sync_to_async(lambda: Alarm.objects.update(raised_at=timezone.now() - timedelta(seconds=10)))()
    assert await database_sync_to_async(alarms_escalate)() == 1
    assert await database_sync_to_async(alarms_escalate)() == 0  # once
    assert await database_sync_to_async(lambda: Alarm.objects.get().escalated_at is not None)()


async def test_a_device_gone_silent_raises_a_technical_alarm(bound, patient, settings):
    from datetime import timedelta

    from django.utils import timezone

    from hub.devices.alarms import devices_offline_check
    from hub.devices.models import Alarm, Binding

    settings.DEVICES_OFFLINE_SECONDS = 5
    await database_sync_to_async(lambda: Binding.objects.update(start=timezone.now() - timedelta(minutes=1)))()
    assert await database_sync_to_async(devices_offline_check)() == 0  # never sent anything: "no data yet"
    from hub.devices.models import Device

    await database_sync_to_async(lambda: Device.objects.update(last_seen_at=timezone.now() - timedelta(minutes=1)))()
    assert await database_sync_to_async(devices_offline_check)() == 1
    alarm = await database_sync_to_async(Alarm.objects.get)()
    assert alarm.kind == "technical" and alarm.condition == "offline" and alarm.priority == "high"


async def test_leads_off_is_a_technical_alarm(bound, patient):
    from hub.devices.models import Alarm

    await database_sync_to_async(ingest)(vitals() | {"technical": ["leads_off"]})
    assert await database_sync_to_async(lambda: Alarm.objects.get().condition)() == "leads_off"


async def test_a_viewer_saves_a_strip_to_the_record(viewer, bound, patient, dr_li_at_county_a):
    from hub.devices.models import Strip

    socket = await viewer(dr_li_at_county_a, patient["id"])
    await receive(socket, "snapshot")
    wave = {"code": "131330", "rate": 250, "data": [0.1] * 250}
    for _ in range(3):
        await database_sync_to_async(ingest)(vitals() | {"waves": [wave]})
    await socket.send_json_to({"type": "strip", "device": "mon-03", "wave": "ecg2"})
    saved = await receive(socket, "strip")
    strip = await database_sync_to_async(Strip.objects.get)()
    assert len(strip.samples) == 750 and saved["observation"] == f"Observation/{strip.observation_id}"


async def test_bad_frames_get_error_frames(viewer, bound, patient, dr_li_at_county_a):
    socket = await viewer(dr_li_at_county_a, patient["id"])
    await receive(socket, "snapshot")
    await socket.send_to(text_data="{nope")
    assert (await receive(socket, "error"))["code"] == "invalid_json"
    await socket.send_json_to({"type": "launch"})
    assert (await receive(socket, "error"))["code"] == "unknown_type"
    await socket.send_json_to({"type": "ack", "alarm": 999999})
    assert (await receive(socket, "error"))["code"] == "not_found"
    await socket.send_json_to({"type": "strip", "device": "mon-03", "wave": "ecg2"})
    assert (await receive(socket, "error"))["code"] == "no_wave"
    await socket.send_json_to({"type": "ping"})
    assert (await receive(socket, "pong"))["type"] == "pong"
