"""Starting a request from the patient: the search (name, pinyin, record number, resident ID, phone) and the
photos and files attached to it (stored as Binary + Media/DocumentReference, refused when too big or not a photo/PDF).
"""

from __future__ import annotations

import json
import re
import struct
import zlib

import pytest
from django.test import Client

from federation.identity.services import patients_index
from fhir_gateway.models import Resource
from hub.referrals.models import Referral
from tests.factories import patient_resource
from tests.hub.referrals.conftest import store


def browser(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def png(width: int = 2, height: int = 2, *, padding: int = 0) -> bytes:
    """A real PNG (``padding`` bytes of an ancillary chunk make it as large as wanted)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    extra = chunk(b"teXt", b"c\x00" + b"x" * padding) if padding else b""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


@pytest.fixture
def request_from_county_a(api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request) -> Referral:
    response = api_for(dr_li_at_county_a).post("", chest_pain_request)
    assert response.status_code == 201, response.content
    return Referral.objects.get(pk=response.json()["id"])


@pytest.fixture
def indexed_patient(county_a) -> dict:
    patient = store(patient_resource(7, mrn_system="urn:site:county-a:mrn"), owner="county-a")
    patients_index(site="county-a", patients=[patient])
    return patient


@pytest.fixture
def patient_of_county_b(county_b) -> dict:
    return store(patient_resource(8, region="411322", mrn_system="urn:site:county-b:mrn"), owner="county-b")


def _search(user, text: str) -> str:
    return browser(user).get("/referrals/new/", {"q": text}, HTTP_X_FRAGMENT="patients").content.decode()


def _values(patient: dict) -> dict:
    han = next(n for n in patient["name"] if not n["text"].isascii())
    latin = next(n for n in patient["name"] if n["text"].isascii())
    return {
        "han": han["text"],
        "pinyin": (latin["family"] + latin["given"][0]).lower(),
        "mrn": next(i["value"] for i in patient["identifier"] if i["system"].endswith(":mrn")),
        "rid": next(i["value"] for i in patient["identifier"] if not i["system"].endswith(":mrn")),
        "phone": patient["telecom"][0]["value"],
    }


def test_a_county_doctor_finds_the_patient_by_name_pinyin_record_number_resident_id_or_phone(
    indexed_patient, dr_li_at_county_a
):
    values = _values(indexed_patient)
    reference = f"Patient/{indexed_patient['id']}"
    for text in (values["han"], values["pinyin"], values["mrn"], values["mrn"].lower(), values["rid"], values["phone"]):
        found = _search(dr_li_at_county_a, text)
        assert reference in found, text
    page = _search(dr_li_at_county_a, values["mrn"])
    assert values["rid"] not in page and f"{values['rid'][:6]}********{values['rid'][-4:]}" in page  # masked


def test_the_search_finds_nothing_of_another_hospitals_patients(patient_of_county_b, dr_li_at_county_a):
    values = _values(patient_of_county_b)
    for text in (values["han"], values["mrn"], values["rid"], values["phone"]):
        found = _search(dr_li_at_county_a, text)
        assert patient_of_county_b["id"] not in found and "data-patient" not in found, text


def test_picking_a_patient_lists_their_records_in_clinical_words_with_value_and_unit(
    indexed_patient, dr_li_at_county_a
):
    reference = f"Patient/{indexed_patient['id']}"
    store(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "10839-9", "display": "Troponin I.cardiac"}]},
            "subject": {"reference": reference},
            "effectiveDateTime": "2026-11-26T09:40:00+08:00",
            "valueQuantity": {"value": 2.35, "unit": "ng/mL"},
        },
        owner="county-a",
    )
    page = browser(dr_li_at_county_a).post("/referrals/new/", {"pick": reference}).content.decode()
    assert "Result · Troponin I · 2.35 ng/mL · 2026-11-26" in page


def _form(patient: dict, **extra) -> dict:
    return {
        "kind": "consultation",
        "urgency": "emergency",
        "pathway": "chest_pain",
        "target_specialty": "cardiology",
        "patient": f"Patient/{patient['id']}",
        "clinical_question": "胸痛1小时，心电图见照片",
        "consent_given": "on",
        "consent_method": "written",
        "consent_given_by": "patient",
        "send": "1",
        **extra,
    }


def _uploaded() -> int:
    return Resource.objects.filter(resource_type__in=["Binary", "Media", "DocumentReference"]).count()


def test_a_photo_is_attached_as_media_and_binary_and_shown_to_the_specialist_only(
    indexed_patient, dr_li_at_county_a, cardiologist_zhang, dr_zhao_at_county_b, official_wang
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    photo = png()
    response = browser(dr_li_at_county_a).post(
        "/referrals/new/", _form(indexed_patient, files=SimpleUploadedFile("ecg.png", photo, "image/png"))
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    referral = Referral.objects.get()
    media = [ref for ref in referral.attachments if ref.startswith("Media/")]
    assert len(media) == 1
    stored = Resource.objects.get(resource_type="Media", fhir_id=media[0].split("/")[1])
    assert stored.owner == "county-a"

    url = f"/referrals/{referral.pk}/files/{media[0]}"
    for reader in (dr_li_at_county_a, cardiologist_zhang):
        answer = browser(reader).get(url)
        assert answer.status_code == 200 and answer["Content-Type"] == "image/png" and answer.content == photo
    for outsider in (dr_zhao_at_county_b, official_wang):
        assert browser(outsider).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the login page
    page = browser(cardiologist_zhang).get(f"/referrals/{referral.pk}/").content.decode()
    assert f'src="{url}"' in page


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("ecg.png", b"MZ\x90\x00 not a picture at all", "is not a photo"),
        ("letter.pdf", b"<html>pretending</html>", "is not a photo"),
        ("empty.jpg", b"", "is empty"),
        ("huge.png", png(padding=5000), "is larger than"),
    ],
)
def test_a_file_of_the_wrong_type_or_too_large_is_refused_and_nothing_is_stored(
    indexed_patient, dr_li_at_county_a, settings, name, data, message
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.REFERRAL_UPLOAD_MAX_BYTES = 4000
    before = _uploaded()
    response = browser(dr_li_at_county_a).post(
        "/referrals/new/", _form(indexed_patient, files=SimpleUploadedFile(name, data, "image/png"))
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page and 'id="form-errors"' in page
    assert not Referral.objects.exists()
    assert _uploaded() == before


def test_a_file_endpoint_refuses_records_not_attached_to_the_request(
    indexed_patient, dr_li_at_county_a, request_from_county_a
):
    other = store(
        {
            "resourceType": "Media",
            "status": "completed",
            "subject": {"reference": f"Patient/{indexed_patient['id']}"},
            "content": {"contentType": "image/png", "data": "iVBORw0KGgo="},
        },
        owner="county-a",
    )
    answer = browser(dr_li_at_county_a).get(f"/referrals/{request_from_county_a.pk}/files/Media/{other['id']}")
    assert answer.status_code == 404
    assert re.search(r"iVBOR", answer.content.decode(errors="replace")) is None


def test_a_patient_posted_to_the_fhir_api_is_found_by_pinyin(client, county_a, dr_li_at_county_a, token_for):
    """Not only Patients the sync brought: one a county doctor writes to /fhir with a name in characters only is
    found by its pinyin too."""
    patient = patient_resource(9, mrn_system="urn:site:county-a:mrn")
    values = _values(patient)
    # as typed at a county hospital: the name in characters only
    patient["name"] = [n for n in patient["name"] if not n["text"].isascii()]
    assert "data-patient" not in _search(dr_li_at_county_a, values["pinyin"])  # nobody of that name yet
    response = client.post(
        "/fhir/Patient", json.dumps(patient), content_type="application/fhir+json", **token_for(dr_li_at_county_a)
    )
    assert response.status_code == 201, response.content
    found = _search(dr_li_at_county_a, values["pinyin"])
    assert f"Patient/{response.json()['id']}" in found
