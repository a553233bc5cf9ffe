"""Retiring a clinician's signing key (``manage.py signing_key_rotate``): routinely, or after a compromise.

What a key signed before its ``revoked_at`` stays valid; what it signed at or after is not (``revoked-key``). The
next signature makes a new key; retired keys stay published; the rotation is in the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from hub.audit.models import AuditEvent
from hub.referrals.models import Opinion
from hub.signatures.models import SigningKey
from tests.factories import SIGNING_PIN, with_signing_pin

pytestmark = pytest.mark.django_db


@pytest.fixture
def sign(api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request):
    """Dr Zhang signs an opinion on a new request of Dr Li's (over the API, with his PIN): the opinion."""
    li, zhang = api_for(dr_li_at_county_a), api_for(cardiologist_zhang)

    def make(conclusion: str) -> Opinion:
        with_signing_pin(cardiologist_zhang)
        rid = li.post("", chest_pain_request).json()["id"]
        assert zhang.post(f"{rid}/accept").status_code == 200
        done = zhang.post(f"{rid}/opinion", {"conclusion": conclusion, "pin": SIGNING_PIN})
        assert done.status_code == 201, done.json()
        return Opinion.objects.get(uid=done.json()["opinions"][0]["uid"])

    return make


@pytest.fixture
def verify(token_for, dr_li_at_county_a):
    headers = token_for(dr_li_at_county_a)
    return lambda opinion, language="en": (
        Client(HTTP_ACCEPT_LANGUAGE=language).get(f"/api/signatures/opinions/{opinion.uid}", **headers).json()
    )


def _key_of(opinion: Opinion) -> str:
    return opinion.signature.split(":")[1]


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("signing_key_rotate", *args, stdout=out)
    return out.getvalue()


def test_a_routine_rotation_keeps_what_was_signed_valid_and_the_next_signature_gets_a_new_key(
    sign, verify, token_for, dr_li_at_county_a, django_capture_on_commit_callbacks
):
    before = sign("急性前壁心梗，建议急诊PCI")
    old_key = _key_of(before)

    with django_capture_on_commit_callbacks(execute=True):
        printed = rotate("cardiologist_zhang")
    assert f"retired {old_key}" in printed
    retired = SigningKey.objects.get(key_id=old_key)
    assert retired.revoked_at is not None and retired.revoked_at > before.signed_at
    assert (verify(before)["valid"], verify(before)["reason"]) == (True, "valid")

    after = sign("稳定型心绞痛，门诊随访")
    assert _key_of(after) != old_key
    answer = verify(after)
    assert (answer["valid"], answer["reason"], answer["key"]) == (True, "valid", _key_of(after))
    assert answer["key_revoked_at"] is None

    # Both keys stay published, the retired one with its revoked_at.
    keys = (
        Client()
        .get("/api/signatures/keys", {"practitioner": "cardiologist_zhang"}, **token_for(dr_li_at_county_a))
        .json()["results"]
    )
    assert [(k["key"], k["revoked_at"] is not None) for k in keys] == [(old_key, True), (_key_of(after), False)]

    # Audited: who ran it, whose key, which one, routine.
    event = AuditEvent.objects.get(detail__operation="signing-key-rotate")
    assert event.actor_kind == "internal" and event.actor_display.startswith("manage.py")
    assert (event.detail["user"], event.detail["keys"], event.detail["reason"]) == (
        "cardiologist_zhang",
        old_key,
        "routine",
    )
    assert event.owner == "general" and event.success


def test_after_a_compromise_what_was_signed_since_is_not_valid(sign, verify, cardiologist_zhang, dr_li_at_county_a):
    early = sign("急性前壁心梗，建议急诊PCI")
    late = sign("建议溶栓")
    assert _key_of(early) == _key_of(late)
    since = early.signed_at + (late.signed_at - early.signed_at) / 2

    printed = rotate("cardiologist_zhang", "--compromised-since", since.isoformat())
    assert "signing PIN is cleared" in printed

    assert (verify(early)["valid"], verify(early)["reason"]) == (True, "valid")
    answer = verify(late)
    assert (answer["valid"], answer["reason"]) == (False, "revoked-key")
    assert answer["reason_text"] == "Signed with a key at or after its revocation: not valid."
    assert datetime.fromisoformat(answer["key_revoked_at"]) == since
    assert verify(late, "zh-hans")["reason_text"] != answer["reason_text"]  # said in Chinese too

    # The request's page says so where the opinion is shown (and not for the one signed before).
    page = Client(HTTP_ACCEPT_LANGUAGE="en")
    page.force_login(dr_li_at_county_a)
    shown = page.get(f"/referrals/{late.referral_id}/").content.decode()
    assert "The signature is not valid: Signed with a key at or after its revocation" in shown
    assert "The signature is not valid" not in page.get(f"/referrals/{early.referral_id}/").content.decode()

    # Nothing is signed for him until he sets a new PIN; then with a new key, valid.
    cardiologist_zhang.refresh_from_db()
    assert cardiologist_zhang.signing_pin == ""
    fresh = sign("稳定型心绞痛")
    assert _key_of(fresh) != _key_of(late)
    assert verify(fresh)["valid"] is True


def test_a_compromise_reaches_back_over_a_routine_rotation(sign, verify):
    first = sign("急性前壁心梗")
    since = timezone.now()
    second = sign("建议溶栓")
    rotate("cardiologist_zhang")  # routine: the first key retired now
    third = sign("门诊随访")
    assert _key_of(first) == _key_of(second) != _key_of(third)

    rotate("cardiologist_zhang", "--compromised-since", since.isoformat())

    assert [verify(o)["valid"] for o in (first, second, third)] == [True, False, False]
    assert SigningKey.objects.filter(user__username="cardiologist_zhang", revoked_at=since).count() == 2


def test_the_command_refuses_what_it_cannot_do(cardiologist_zhang):
    with pytest.raises(CommandError, match="No user"):
        rotate("nobody")
    with pytest.raises(CommandError, match="time zone"):
        rotate("cardiologist_zhang", "--compromised-since", "2026-12-01T08:00:00")
    with pytest.raises(CommandError, match="ISO 8601"):
        rotate("cardiologist_zhang", "--compromised-since", "yesterday")
    with pytest.raises(CommandError, match="future"):
        rotate("cardiologist_zhang", "--compromised-since", "2099-01-01T00:00:00+08:00")
    assert "nothing to retire" in rotate("cardiologist_zhang")  # no key yet
