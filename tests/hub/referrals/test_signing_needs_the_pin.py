"""Every signature needs the signer's PIN: a bearer token (or a session) alone signs nothing.

The referral API's ``opinion`` and ``addendum`` and the request page's addendum: without the PIN 400 and nothing
stored; a wrong PIN 400, counted toward the lock (which then refuses the right one too); the right PIN signs, and
what it signed verifies.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from hub.accounts.pins import MAX_FAILURES
from hub.referrals.models import Opinion, Referral
from tests.factories import SIGNING_PIN, with_signing_pin

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the wrong tries are counted in the cache


@pytest.fixture
def accepted(api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request) -> int:
    li, zhang = api_for(dr_li_at_county_a), api_for(cardiologist_zhang)
    rid = li.post("", chest_pain_request).json()["id"]
    assert zhang.post(f"{rid}/accept").status_code == 200
    with_signing_pin(cardiologist_zhang)
    return rid


def _verified(token_for, reader, uid: str) -> dict:
    return Client().get(f"/api/signatures/opinions/{uid}", **token_for(reader)).json()


def _nothing_signed(rid: int) -> None:
    assert not Opinion.objects.filter(referral_id=rid).exists()
    assert Referral.objects.get(pk=rid).status == "accepted"


def test_the_api_signs_no_opinion_without_the_pin(api_for, cardiologist_zhang, accepted):
    answer = api_for(cardiologist_zhang).post(f"{accepted}/opinion", {"conclusion": "急性前壁心梗"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid" and "pin" in answer.json()["detail"]
    for malformed in ("12345", "abcdef", "1234567", ""):
        bad = api_for(cardiologist_zhang).post(f"{accepted}/opinion", {"conclusion": "急性前壁心梗", "pin": malformed})
        assert bad.status_code == 400 and "pin" in bad.json()["detail"], malformed
    _nothing_signed(accepted)


def test_a_wrong_pin_signs_nothing_and_counts_toward_the_lock(api_for, cardiologist_zhang, accepted):
    zhang = api_for(cardiologist_zhang)
    for _ in range(MAX_FAILURES):
        wrong = zhang.post(f"{accepted}/opinion", {"conclusion": "急性前壁心梗", "pin": "000000"})
        assert wrong.status_code == 400
        assert wrong.json() == {"error": "invalid_pin", "detail": "The signing PIN is not right."}
    locked = zhang.post(f"{accepted}/opinion", {"conclusion": "急性前壁心梗", "pin": SIGNING_PIN})
    assert locked.status_code == 400 and "locked" in locked.json()["detail"]
    _nothing_signed(accepted)


def test_a_clinician_without_a_pin_signs_nothing(api_for, cardiologist_zhang, accepted):
    cardiologist_zhang.signing_pin = ""
    cardiologist_zhang.save(update_fields=["signing_pin"])
    answer = api_for(cardiologist_zhang).post(f"{accepted}/opinion", {"conclusion": "急性前壁心梗", "pin": "480731"})
    assert answer.status_code == 400 and answer.json()["error"] == "signing_pin_not_set"
    _nothing_signed(accepted)


def test_the_right_pin_signs_an_opinion_that_verifies(
    api_for, token_for, cardiologist_zhang, dr_li_at_county_a, accepted
):
    signed = api_for(cardiologist_zhang).post(f"{accepted}/opinion", {"conclusion": "急性前壁心梗", "pin": SIGNING_PIN})
    assert signed.status_code == 201, signed.json()
    opinion = signed.json()["opinions"][0]
    assert "pin" not in signed.json() and "pin" not in opinion  # write-only
    body = _verified(token_for, dr_li_at_county_a, opinion["uid"])
    assert (body["valid"], body["reason"]) == (True, "valid")


def test_an_addendum_needs_the_pin_too(api_for, token_for, cardiologist_zhang, dr_li_at_county_a, accepted):
    zhang = api_for(cardiologist_zhang)
    opinion = zhang.post(f"{accepted}/opinion", {"conclusion": "建议冠脉造影", "pin": SIGNING_PIN}).json()["opinions"][
        0
    ]
    addendum = {"opinion": opinion["id"], "conclusion": "补充：造影前查肾功能"}

    missing = zhang.post(f"{accepted}/addendum", addendum)
    assert missing.status_code == 400 and "pin" in missing.json()["detail"]
    wrong = zhang.post(f"{accepted}/addendum", addendum | {"pin": "000000"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_pin"
    assert Opinion.objects.filter(referral_id=accepted).count() == 1
    for _ in range(MAX_FAILURES - 1):  # the wrong try above counted: four more lock signing
        zhang.post(f"{accepted}/addendum", addendum | {"pin": "000000"})
    locked = zhang.post(f"{accepted}/addendum", addendum | {"pin": SIGNING_PIN})
    assert locked.status_code == 400 and "locked" in locked.json()["detail"]
    assert Opinion.objects.filter(referral_id=accepted).count() == 1

    cache.clear()  # the lock has run out
    added = zhang.post(f"{accepted}/addendum", addendum | {"pin": SIGNING_PIN})
    assert added.status_code == 201, added.json()
    uid = added.json()["opinions"][1]["uid"]
    assert _verified(token_for, dr_li_at_county_a, uid)["valid"] is True


def test_the_schema_documents_the_pin_write_only_and_the_400(client, token_for, dr_li_at_county_a):
    schema = client.get("/api/schema/?format=json", **token_for(dr_li_at_county_a)).json()
    components = schema["components"]["schemas"]
    for action, component in (("opinion", "OpinionInput"), ("addendum", "AddendumInput")):
        operation = schema["paths"][f"/api/referrals/{{referral_id}}/{action}"]["post"]
        assert "400" in operation["responses"]
        pin = components[component]["properties"]["pin"]
        assert pin["writeOnly"] is True and pin["pattern"] == r"^\d{6}$"
        assert "pin" in components[component]["required"]
    end = components["RoomEndInput"]["properties"]["pin"]
    assert end["writeOnly"] is True and "conclusion" in end["description"]
