"""``make demo`` has a room to try: the in-progress chest-pain consultation, with an ECG to present."""

from __future__ import annotations

from django.core.management import call_command
from django.test import Client

from fhir_gateway.models import Resource
from hub.accounts.models import User
from hub.consultations.models import Annotation, Room, RoomEvent


def test_the_demo_has_a_room_with_an_ecg_messages_and_an_annotation(db):
    call_command("load_demo")
    call_command("load_demo")  # idempotent

    room = Room.objects.get(referral__requester__username="doctor1_a", referral__status="in-progress")
    assert room.status == "open"
    assert RoomEvent.objects.filter(room=room, kind="chat").count() == 4
    ecg = Resource.objects.get(resource_type="Media", fhir_id=room.presented["ref"].split("/")[1]).content
    assert ecg["subject"]["reference"] == room.patient_ref and ecg["content"]["contentType"] == "image/png"
    assert Annotation.objects.filter(room=room, target_ref=room.presented["ref"]).count() == 1

    for username in ("doctor1_a", "cardiologist_zhang", "radiologist_zhao"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        page = client.get(f"/consultations/rooms/{room.pk}/")
        assert page.status_code == 200, username
        image = client.get(f"/api/consultations/rooms/{room.pk}/media/{room.presented['ref'].split('/')[1]}")
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG"), username
