"""Two-factor sign-in (TOTP) over HTTP: administrators must enrol and use it, clinicians may.

The codes are computed here from the key the enrolment page shows (RFC 6238: HMAC-SHA1, 30 s, 6 digits), as an
authenticator app would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time

import pytest
from django.test import Client


def totp(secret: str, *, at: float | None = None) -> str:
    key = base64.b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret.replace(" ", "")) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def sign_in(client: Client, username: str):
    return client.post("/login/", {"username": username, "password": "pw-for-tests"})


def enrol(client: Client) -> str:
    page = client.get("/account/two-factor/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html  # the QR code, drawn by the server
    secret = re.search(r'id="otp-secret">([A-Z2-7 ]+)<', html).group(1)
    confirmed = client.post("/account/two-factor/", {"code": totp(secret), "next": "/"})
    assert confirmed.status_code == 302, confirmed.content.decode()
    return secret


@pytest.fixture
def two_factor_on(settings):
    settings.HUB_TWO_FACTOR_REQUIRED_FOR_ADMINS = True


@pytest.mark.django_db
def test_a_site_admin_must_enrol_before_reaching_anything(two_factor_on, admin_of_county_a, token_for):
    client = Client()
    assert sign_in(client, admin_of_county_a.username).status_code == 302
    # Then every page sends them to enrol, the APIs refuse, the FHIR API refuses
    page = client.get("/access/reviews/")
    assert page.status_code == 302 and page["Location"].startswith("/account/two-factor/")
    api = client.get("/api/access/break-glass/reviews")
    assert api.status_code == 403 and api.json()["error"] == "two_factor_required"
    fhir = client.get("/fhir/Patient")
    assert fhir.status_code == 403 and fhir.json()["resourceType"] == "OperationOutcome"
    # When they enrol with a code computed from the key shown
    enrol(client)
    # Then the same session reaches the pages and the API
    assert client.get("/access/reviews/").status_code == 200
    assert client.get("/api/access/break-glass/reviews").status_code == 200
    # And bearer tokens (issued by an administrator) are not affected
    assert Client().get("/api/access/break-glass/reviews", **token_for(admin_of_county_a)).status_code == 200


@pytest.mark.django_db
def test_an_enrolled_admin_signs_in_with_password_then_code(two_factor_on, admin_of_county_a):
    first = Client()
    sign_in(first, admin_of_county_a.username)
    secret = enrol(first)

    client = Client()
    signed = sign_in(client, admin_of_county_a.username)
    assert signed.status_code == 302
    step = client.get("/dashboard/")
    assert step.status_code == 302 and step["Location"].startswith("/login/two-factor/")
    # A wrong code: the step again, still nothing else reachable
    wrong = client.post("/login/two-factor/", {"code": "000000" if totp(secret) != "000000" else "111111"})
    assert wrong.status_code == 200 and "not right" in wrong.content.decode()
    assert client.get("/dashboard/").status_code == 302
    # The right code opens the session (the next time step's: the current one was spent enrolling, and a code
    # is good once; after a wrong code django-otp makes the next try wait a second)
    time.sleep(1.1)
    right = client.post("/login/two-factor/", {"code": totp(secret, at=time.time() + 30), "next": "/dashboard/"})
    assert right.status_code == 302 and right["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.django_db
def test_a_hub_admin_needs_the_second_factor_for_the_admin(two_factor_on, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.org", "pw-for-tests")
    client = Client()
    client.post("/admin/login/", {"username": "root", "password": "pw-for-tests"})
    assert client.get("/admin/").status_code == 302
    enrol(client)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_two_factor_is_optional_for_clinicians_and_then_required_for_them(two_factor_on, dr_li_at_county_a):
    client = Client()
    sign_in(client, "dr_li")
    assert client.get("/referrals/").status_code == 200  # no second factor asked
    secret = enrol(client)  # Dr Li turns it on

    client = Client()
    sign_in(client, "dr_li")
    assert client.get("/referrals/").status_code == 302  # now the code is asked
    replayed = client.post("/login/two-factor/", {"code": totp(secret)})  # the code spent enrolling
    assert replayed.status_code == 200 and client.get("/referrals/").status_code == 302
    time.sleep(1.1)
    client.post("/login/two-factor/", {"code": totp(secret, at=time.time() + 30)})
    assert client.get("/referrals/").status_code == 200
    # and may turn it off again
    assert client.post("/account/two-factor/", {"action": "remove"}).status_code == 302
    client = Client()
    sign_in(client, "dr_li")
    assert client.get("/referrals/").status_code == 200


@pytest.mark.django_db
def test_an_admin_cannot_turn_it_off(two_factor_on, admin_of_county_a):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    sign_in(client, admin_of_county_a.username)
    enrol(client)
    client.post("/account/two-factor/", {"action": "remove"})
    assert TOTPDevice.objects.filter(user=admin_of_county_a, confirmed=True).exists()
