"""The signing PIN: six digits, stored only as a password hash, set on the profile page, locked after wrong tries."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from hub.accounts.pins import MAX_FAILURES, signing_pin_check, signing_pin_set
from hub.api_errors import DomainError


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.mark.parametrize("pin", ["12345", "1234567", "abcdef", "111111", "123456", "987654"])
def test_a_pin_that_is_not_six_digits_or_easy_to_guess_is_refused(dr_li_at_county_a, pin):
    with pytest.raises(DomainError):
        signing_pin_set(user=dr_li_at_county_a, pin=pin)
    dr_li_at_county_a.refresh_from_db()
    assert dr_li_at_county_a.signing_pin == ""


def test_the_pin_is_stored_hashed_and_checked(cardiologist_zhang):
    signing_pin_set(user=cardiologist_zhang, pin="480731")
    cardiologist_zhang.refresh_from_db()
    assert "480731" not in cardiologist_zhang.signing_pin and cardiologist_zhang.signing_pin.count("$") >= 2
    signing_pin_check(user=cardiologist_zhang, pin="480731")
    with pytest.raises(DomainError, match="not right"):
        signing_pin_check(user=cardiologist_zhang, pin="480732")


def test_wrong_pins_lock_signing_even_with_the_right_one(cardiologist_zhang):
    signing_pin_set(user=cardiologist_zhang, pin="480731")
    for _ in range(MAX_FAILURES):
        with pytest.raises(DomainError):
            signing_pin_check(user=cardiologist_zhang, pin="000000")
    with pytest.raises(DomainError, match="locked"):
        signing_pin_check(user=cardiologist_zhang, pin="480731")


def test_without_a_pin_nothing_can_be_signed(cardiologist_zhang):
    with pytest.raises(DomainError) as refused:
        signing_pin_check(user=cardiologist_zhang, pin="")
    assert refused.value.code == "signing_pin_not_set"


def test_the_profile_page_sets_the_pin_after_the_password(cardiologist_zhang):
    cardiologist_zhang.set_password("right-password")
    cardiologist_zhang.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(cardiologist_zhang)
    wrong = client.post("/profile/", {"password": "nope", "pin": "480731", "pin_again": "480731"})
    assert "The password is not right." in wrong.content.decode()
    cardiologist_zhang.refresh_from_db()
    assert cardiologist_zhang.signing_pin == ""
    done = client.post("/profile/", {"password": "right-password", "pin": "480731", "pin_again": "480731"})
    assert done.status_code == 302
    cardiologist_zhang.refresh_from_db()
    signing_pin_check(user=cardiologist_zhang, pin="480731")
    assert Client().get("/profile/").status_code == 302  # signed out: the login page
