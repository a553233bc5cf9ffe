"""Rooms open with the workflow, fill the pathway's time nodes and end with the opinion and a session record."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from fhir_gateway.models import Resource
from hub.consultations import media, services
from hub.consultations.models import Room, RoomConnection, RoomEvent
from hub.referrals import services as referral_services
from hub.referrals.models import TimeNodeRecord
from tests.factories import SIGNING_PIN, with_signing_pin
from tests.hub.consultations.conftest import consult

pytestmark = pytest.mark.django_db(transaction=True)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9"


def fhir(reference: str) -> Resource:
    resource_type, fhir_id = reference.split("/")
    return Resource.objects.get(resource_type=resource_type, fhir_id=fhir_id)


def test_an_emergency_gets_a_room_when_it_is_submitted(dr_li_at_county_a, cardiologist_zhang, patient):
    referral = consult(dr_li_at_county_a, patient, urgency="emergency", consent=None)
    room = Room.objects.get(referral=referral, status="open")
    assert set(room.participants.values_list("user__username", flat=True)) == {"dr_li", "cardiologist_zhang"}


def test_an_urgent_consultation_gets_its_room_when_accepted(dr_li_at_county_a, cardiologist_zhang, patient):
    referral = consult(dr_li_at_county_a, patient)
    assert not Room.objects.filter(referral=referral).exists()
    referral_services.task_accept(referral_id=referral.pk, actor=cardiologist_zhang)
    assert Room.objects.filter(referral=referral, status="open").count() == 1


def test_the_requests_page_opens_the_room_once(referral, room, dr_li_at_county_a):
    client = Client()
    client.force_login(dr_li_at_county_a)
    response = client.post(f"/consultations/referrals/{referral.pk}/room/")
    assert response.status_code == 302 and response["Location"] == f"/consultations/rooms/{room.pk}/"
    assert Room.objects.filter(referral=referral).count() == 1
    assert f"/consultations/rooms/{room.pk}/" in client.get(f"/referrals/{referral.pk}/").content.decode()


def test_room_events_fill_the_chest_pain_time_nodes(room, referral, dr_li_at_county_a, cardiologist_zhang):
    # Accepted already (expert_joined recorded then): forget it, the room records it when Zhang enters.
    TimeNodeRecord.objects.filter(referral=referral, node="expert_joined").delete()
    services.connection_join(
        room_id=room.pk, user=cardiologist_zhang, session="zhang-pc-session", channel_name="c1", device="pc"
    )
    services.decision_record(
        room_id=room.pk, actor=cardiologist_zhang, decision="diagnosis", text="急性前壁STEMI", client_id="d1"
    )
    services.decision_record(
        room_id=room.pk, actor=cardiologist_zhang, decision="decision", text="立即转运行急诊PCI", client_id="d2"
    )
    nodes = dict(TimeNodeRecord.objects.filter(referral=referral).values_list("node", "recorded_by__username"))
    assert nodes["expert_joined"] == "cardiologist_zhang"
    assert nodes["diagnosis"] == "cardiologist_zhang" and nodes["decision"] == "cardiologist_zhang"


def test_ending_with_the_opinion_signs_it_and_records_the_session(
    room, referral, dr_li_at_county_a, cardiologist_zhang
):
    later = timezone.now() + timedelta(minutes=30)
    referral_services.appointment_schedule(
        referral_id=referral.pk, actor=cardiologist_zhang, starts_at=later, ends_at=later + timedelta(minutes=30)
    )
    for user, session in ((dr_li_at_county_a, "li-phone-session"), (cardiologist_zhang, "zhang-pc-session")):
        services.connection_join(room_id=room.pk, user=user, session=session, channel_name=session, device="pc")

    client = Client()
    client.force_login(cardiologist_zhang)
    response = client.post(
        f"/api/consultations/rooms/{room.pk}/end",
        {
            "conclusion": "急性前壁STEMI，建议立即转诊PCI",
            "title": "远程会诊意见",
            "pin": with_signing_pin(cardiologist_zhang),
        },
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    room.refresh_from_db()
    referral.refresh_from_db()
    assert room.status == "ended" and referral.status == "completed"
    assert referral.opinions.get().conclusion == "急性前壁STEMI，建议立即转诊PCI"
    encounter = fhir(f"Encounter/{room.encounter_id}").content
    assert encounter["class"]["code"] == "VR" and encounter["status"] == "finished"
    assert encounter["period"]["start"] and encounter["period"]["end"]
    people = {p["individual"]["identifier"]["value"] for p in encounter["participant"]}
    assert people == {"dr_li", "cardiologist_zhang"}
    appointment = fhir(f"Appointment/{referral.appointments.get().fhir_id}").content
    assert appointment["status"] == "fulfilled"
    assert not RoomConnection.objects.filter(room=room).exists()
    kinds = list(RoomEvent.objects.filter(room=room).values_list("kind", flat=True))
    assert kinds[-2:] == ["ended", "decision"]
    history = client.get(f"/api/consultations/rooms/{room.pk}/events")
    assert history.status_code == 200 and history.json()["events"][-1]["data"]["decision"] == "opinion"


def test_only_the_responsible_specialist_signs_the_opinion_when_ending(room, dr_li_at_county_a):
    with pytest.raises(Exception) as refused:
        services.room_end(room_id=room.pk, actor=dr_li_at_county_a, conclusion="我来签", pin=SIGNING_PIN)
    assert refused.value.status == 403
    room.refresh_from_db()
    assert room.status == "open"


def test_signing_the_opinion_on_the_requests_page_ends_the_room(room, referral, cardiologist_zhang):
    referral_services.opinion_sign(
        referral_id=referral.pk,
        actor=cardiologist_zhang,
        conclusion="稳定型心绞痛",
        pin=with_signing_pin(cardiologist_zhang),
    )
    room.refresh_from_db()
    assert room.status == "ended" and room.encounter_id


def test_an_ultrasound_snapshot_is_stored_as_media_and_binary_of_the_patient(room, dr_li_at_county_a, patient):
    client = Client()
    client.force_login(dr_li_at_county_a)
    upload = {"file": _file("us.jpg", JPEG, "image/jpeg"), "id": "snap-1", "source": "ultrasound", "width": 1280}
    response = client.post(f"/api/consultations/rooms/{room.pk}/snapshots", upload)
    assert response.status_code == 201, response.content
    media_ref = response.json()["data"]["media"]
    stored = fhir(media_ref)
    assert stored.owner == "county-a"
    assert stored.content["subject"]["reference"] == f"Patient/{patient['id']}"
    assert stored.content["modality"]["coding"][0]["code"] == "US"
    assert stored.content["basedOn"][0]["reference"].startswith("ServiceRequest/")
    binary = fhir(stored.content["content"]["url"]).content
    assert base64.b64decode(binary["data"]) == JPEG
    image = client.get(f"/api/consultations/rooms/{room.pk}/media/{media_ref.split('/')[1]}")
    assert image.status_code == 200 and image.content == JPEG and image["Content-Type"] == "image/jpeg"


def test_a_file_that_is_not_what_it_says_is_refused_and_nothing_is_stored(room, dr_li_at_county_a):
    client = Client()
    client.force_login(dr_li_at_county_a)
    before = Resource.objects.count()
    for name, content, kind in (("x.jpg", b"MZ\x90\x00", "image/jpeg"), ("x.exe", b"MZ", "application/x-msdownload")):
        response = client.post(
            f"/api/consultations/rooms/{room.pk}/attachments", {"file": _file(name, content, kind), "id": "f1"}
        )
        assert response.status_code == 400 and response.json()["error"] == "invalid_file"
    assert Resource.objects.count() == before
    assert not RoomEvent.objects.filter(room=room, kind="chat").exists()


def test_an_image_in_the_chat_is_a_communication_with_its_media(room, dr_li_at_county_a):
    client = Client()
    client.force_login(dr_li_at_county_a)
    response = client.post(
        f"/api/consultations/rooms/{room.pk}/attachments",
        {"file": _file("ecg.jpg", JPEG, "image/jpeg"), "id": "f2", "text": "床旁心电图"},
    )
    assert response.status_code == 201
    event = RoomEvent.objects.get(room=room, kind="chat")
    communication = fhir(event.fhir_ref).content
    payload = {next(iter(p)) for p in communication["payload"]}
    assert payload == {"contentString", "contentReference", "contentAttachment"}


def test_a_dropped_connection_is_swept_after_the_grace_and_counts_as_left(room, cardiologist_zhang):
    joined = services.connection_join(
        room_id=room.pk, user=cardiologist_zhang, session="zhang-phone-session", channel_name="c9", device="phone"
    )
    services.connection_drop(connection_uid=joined.connection.uid, channel_name="c9")
    assert services.presence_sweep(room_id=room.pk) == 0
    assert services.presence_sweep(room_id=room.pk, now=timezone.now() + timedelta(seconds=31)) == 1
    assert RoomEvent.objects.filter(room=room, kind="left", actor=cardiologist_zhang).exists()


def test_turn_credentials_are_the_hmac_of_the_shared_secret_and_expire(settings):
    settings.TURN_URLS = ["turns:turn.alliance.example:443?transport=tcp"]
    settings.TURN_SECRET, settings.TURN_CREDENTIAL_SECONDS = "coturn-secret", 3600
    servers = media.ice_servers(user_id=7, now=1_800_000_000)
    turn = servers[-1]
    assert turn["username"] == "1800003600:7"
    expected = base64.b64encode(hmac.new(b"coturn-secret", b"1800003600:7", hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected


def test_livekit_tokens_are_jwts_signed_with_the_api_secret_for_one_room(room, cardiologist_zhang, settings):
    settings.LIVEKIT_URL, settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = (
        "wss://sfu.example",
        "APIkey",
        "s3cret",
    )
    token = media.livekit_token(room=room, user=cardiologist_zhang, connection_uid="c1", now=1_800_000_000)["token"]
    header, payload, signature = token.split(".")
    expected = hmac.new(b"s3cret", f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert claims["iss"] == "APIkey" and claims["video"]["room"] == f"consultation-{room.uid}"
    assert claims["video"]["roomJoin"] is True and claims["exp"] > claims["nbf"]


def test_a_room_of_more_than_four_uses_the_sfu_when_one_is_configured(
    room, cardiologist_zhang, general_hospital, settings
):
    from hub.accounts.constants import Role
    from tests.factories import UserFactory

    settings.LIVEKIT_URL, settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = "wss://sfu.example", "k", "s"
    experts = [UserFactory(username=f"expert{n}", role=Role.SPECIALIST, site=general_hospital) for n in range(3)]
    services.participant_invite(room_id=room.pk, actor=cardiologist_zhang, invitees=experts)
    room.refresh_from_db()
    assert room.media_mode == "sfu"


def _file(name, content, content_type):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)
