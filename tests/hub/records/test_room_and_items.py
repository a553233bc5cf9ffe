"""The record in the consultation room (with "present" on its items), one record as a room presents it, the
files (PDF, DICOM) served to those who may see them, and the demo's patients."""

from __future__ import annotations

import re

import pytest

from hub.consultations.models import Room
from hub.referrals import services
from tests.hub.records.conftest import browser

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(chest_pain_request, cardiologist_zhang) -> Room:
    services.task_accept(referral_id=chest_pain_request.pk, actor=cardiologist_zhang)
    return Room.objects.get(referral=chest_pain_request, status="open")


def test_the_room_shows_the_record_and_each_item_can_be_presented(room, cardiologist_zhang):
    page = browser(cardiologist_zhang).get(f"/consultations/rooms/{room.pk}/").content.decode()
    assert 'id="patient-record"' in page and 'class="ecg-svg"' in page
    presentable = re.findall(r'<button type="button" class="present rec-present" data-ref="([^"]+)"', page)
    assert any(ref.startswith("Observation/") for ref in presentable)  # the ECG and the lab rows
    assert any(ref.startswith("DocumentReference/") for ref in presentable)


def test_a_presented_ecg_is_drawn_in_everyones_view(room, cardiologist_zhang, dr_li_at_county_a):
    page = browser(cardiologist_zhang).get(f"/consultations/rooms/{room.pk}/").content.decode()
    ecg_ref = re.search(r'<figure class="rec-ecg" data-ref="(Observation/[^"]+)"', page).group(1)
    fragment = browser(dr_li_at_county_a).get(f"/consultations/rooms/{room.pk}/records/{ecg_ref}/")
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert body.count('class="ecg-lead"') == 13 and "ST段抬高" in body
    assert "<h3>Result · ECG</h3>" in body  # a clinical word and the LOINC table's name, not "Observation · EKG study"


def test_one_record_as_the_record_shows_it(chest_pain_request, cardiologist_zhang, neurologist_zhou):
    page = browser(cardiologist_zhang).get(f"/referrals/{chest_pain_request.pk}/").content.decode()
    ref = re.search(r'data-code="10839-9" data-ref="(Observation/[^"]+)"', page).group(1)
    item = browser(cardiologist_zhang).get(f"/records/items/{ref}/")
    assert item.status_code == 200 and "Troponin I (cardiac)" in item.content.decode()
    denied = browser(neurologist_zhou).get(f"/records/items/{ref}/")
    assert denied.status_code == 404 and "Troponin" not in denied.content.decode()


def test_the_ct_slices_are_served_as_dicom_to_those_who_may_see_them(
    stroke_patient, dr_li_at_county_a, neurologist_zhou
):
    client = browser(dr_li_at_county_a)
    page = client.get(f"/access/patients/{stroke_patient['id']}/").content.decode()
    slices = re.search(r'class="rec-dicom" data-slices="([^"]+)"', page).group(1).split()
    assert len(slices) == 20
    first = client.get(slices[0])
    assert first.status_code == 200 and first["Content-Type"] == "application/dicom"
    assert first.content[128:132] == b"DICM"
    assert browser(neurologist_zhou).get(slices[0]).status_code == 404
    assert "头颅CT平扫" in page and "颅内未见出血" in page


def test_the_demo_gives_the_chest_pain_patients_an_age_that_fits_and_a_stemi(
    county_a, dr_li_at_county_a, cardiologist_zhang
):
    from federation.identity.resident_id import is_valid
    from fhir_gateway import services as fhir
    from fhir_gateway.context import INTERNAL_ACTOR
    from hub.demo.records import demo_records_load
    from hub.records.dates import age_years
    from tests.factories import patient_resource

    young = patient_resource(5)
    young["birthDate"] = "2006-03-01"
    patient = fhir.resource_create(resource=young, actor=INTERNAL_ACTOR, owner="county-a").resource
    services.referral_create(
        requester=dr_li_at_county_a,
        kind="consultation",
        urgency="emergency",
        pathway="chest_pain",
        patient_ref=f"Patient/{patient['id']}",
        clinical_question="胸痛",
        consent=services.ConsentGiven(),
    )
    assert demo_records_load() > 30
    stored = fhir.resource_read(resource_type="Patient", fhir_id=patient["id"], actor=INTERNAL_ACTOR)
    assert 45 <= age_years(stored["birthDate"]) <= 75
    resident = next(i["value"] for i in stored["identifier"] if i["system"].endswith("1.3"))
    assert is_valid(resident) and resident[6:14] == stored["birthDate"].replace("-", "")
    assert demo_records_load() == 0  # loaded once
    page = browser(dr_li_at_county_a).get(f"/access/patients/{patient['id']}/").content.decode()
    assert page.count('class="ecg-lead"') == 13 and "3.41" in page


def test_an_attached_record_reads_as_a_page_of_its_own(chest_pain_request, cardiologist_zhang):
    page = browser(cardiologist_zhang).get(f"/referrals/{chest_pain_request.pk}/").content.decode()
    ref = re.search(
        r'<article class="rec-doc" data-ref="(DocumentReference/[^"]+)">\s*<h4>Emergency department note', page
    )
    ref = ref.group(1)
    own = browser(cardiologist_zhang).get(f"/records/items/{ref}/").content.decode()
    assert "<h1" in own and "Document" in own and "胸骨后压榨样疼痛" in own and "records/records.js" in own
    fragment = browser(cardiologist_zhang).get(f"/records/items/{ref}/", HTTP_X_FRAGMENT="record").content.decode()
    assert "<h1" not in fragment and "胸骨后压榨样疼痛" in fragment
