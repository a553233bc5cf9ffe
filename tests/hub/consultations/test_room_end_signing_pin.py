"""Ending a room with a conclusion signs the opinion: it needs the signer's PIN like every signature.

Without it (or with a wrong one) the answer is 400, the room stays open and nothing is signed or recorded; a wrong
PIN counts toward the lock; the right one ends the room with an opinion that verifies. Ending without a conclusion
signs nothing and asks for no PIN.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from hub.accounts.pins import MAX_FAILURES
from hub.consultations.models import RoomEvent
from tests.factories import SIGNING_PIN, with_signing_pin

pytestmark = pytest.mark.django_db

CONCLUSION = {"conclusion": "急性前壁STEMI，建议立即转诊PCI", "title": "远程会诊意见"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def zhang(cardiologist_zhang) -> Client:
    with_signing_pin(cardiologist_zhang)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(cardiologist_zhang)
    return client


def _end(client: Client, room, body: dict):
    return client.post(f"/api/consultations/rooms/{room.pk}/end", body, content_type="application/json")


def _still_open(room, referral) -> None:
    room.refresh_from_db()
    referral.refresh_from_db()
    assert room.status == "open" and room.encounter_id in ("", None)
    assert referral.status == "accepted" and not referral.opinions.exists()
    assert not RoomEvent.objects.filter(room=room, kind__in=("ended", "decision")).exists()


def test_no_pin_no_signature_and_the_room_stays_open(zhang, room, referral):
    answer = _end(zhang, room, CONCLUSION)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid" and "pin" in answer.json()["detail"]
    assert _end(zhang, room, CONCLUSION | {"pin": "12ab56"}).status_code == 400
    _still_open(room, referral)


def test_a_wrong_pin_is_refused_and_counted_toward_the_lock(zhang, room, referral):
    for _ in range(MAX_FAILURES):
        wrong = _end(zhang, room, CONCLUSION | {"pin": "000000"})
        assert wrong.status_code == 400
        assert wrong.json() == {"error": "invalid_pin", "detail": "The signing PIN is not right."}
    _still_open(room, referral)
    locked = _end(zhang, room, CONCLUSION | {"pin": SIGNING_PIN})
    assert locked.status_code == 400 and "locked" in locked.json()["detail"]
    _still_open(room, referral)


def test_the_right_pin_ends_the_room_with_an_opinion_that_verifies(zhang, room, referral, dr_li_at_county_a):
    answer = _end(zhang, room, CONCLUSION | {"pin": SIGNING_PIN})
    assert answer.status_code == 200, answer.content
    assert "pin" not in answer.json()
    room.refresh_from_db()
    referral.refresh_from_db()
    assert room.status == "ended" and referral.status == "completed"
    opinion = referral.opinions.get()
    reader = Client()
    reader.force_login(dr_li_at_county_a)
    verified = reader.get(f"/api/signatures/opinions/{opinion.uid}").json()
    assert (verified["valid"], verified["reason"]) == (True, "valid")


def test_ending_without_a_conclusion_asks_no_pin(zhang, room, referral):
    answer = _end(zhang, room, {"pin": "000000"})  # ignored: nothing is signed
    assert answer.status_code == 200, answer.content
    room.refresh_from_db()
    assert room.status == "ended" and not referral.opinions.exists()


def test_the_room_page_asks_for_the_pin_in_its_end_dialog(zhang, room):
    page = zhang.get(f"/consultations/rooms/{room.pk}/").content.decode()
    assert 'id="opinion-pin"' in page and 'type="password"' in page and 'inputmode="numeric"' in page
    assert "pin_needed" in page  # room.js's words for a conclusion without the PIN
