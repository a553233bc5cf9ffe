"""The readable record over HTTP: what the requesting doctor and the specialist read, and what nobody else learns."""

from __future__ import annotations

import re

import pytest

from hub.audit.models import AuditEvent
from tests.factories import with_signing_pin
from tests.hub.records.conftest import browser, resident_id

pytestmark = pytest.mark.django_db


def record_page(user, patient: dict, language: str = "en") -> str:
    response = browser(user, language).get(f"/access/patients/{patient['id']}/")
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def test_the_lab_results_show_values_units_ranges_and_flags_in_the_pages_language(
    chest_pain_patient, dr_li_at_county_a
):
    english = record_page(dr_li_at_county_a, chest_pain_patient)
    row = re.search(r'<tr class="rec-lab flagged" data-code="10839-9" data-ref="[^"]+">(.*?)</tr>', english, re.S)
    assert row, "the troponin row is flagged"
    assert "Troponin I (cardiac)" in row.group(1) and "3.41" in row.group(1) and "ng/mL" in row.group(1)
    assert "0–0.04" in row.group(1) and "↑H" in row.group(1)
    assert "0.86" in row.group(1) and "0.02" in row.group(1)  # the earlier results
    potassium = re.search(r'data-code="2823-3" data-ref="[^"]+">(.*?)</tr>', english, re.S).group(1)
    assert "3.4" in potassium and "↓L" in potassium
    chinese = record_page(dr_li_at_county_a, chest_pain_patient, "zh-hans")
    assert "肌钙蛋白I" in chinese and "肌酸激酶同工酶" in chinese and "国际标准化比值" in chinese
    assert "Troponin I (cardiac)" not in chinese


def test_the_summary_names_problems_allergies_medications_and_dated_visits(chest_pain_patient, dr_li_at_county_a):
    page = record_page(dr_li_at_county_a, chest_pain_patient)
    for text in ("急性下壁ST段抬高型心肌梗死", "青霉素", "替格瑞洛 180 mg", "Emergency", "Inpatient", "Outpatient"):
        assert text in page, text
    visits = re.search(r'id="rec-summary-h".*?Recent visits(.*?)</ul>', page, re.S).group(1)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", visits)
    assert "date not recorded" not in visits


def test_no_fhir_json_or_type_names_reach_the_page(chest_pain_patient, dr_li_at_county_a):
    page = record_page(dr_li_at_county_a, chest_pain_patient)
    record = page[page.index('id="patient-record"') :]
    assert '"resourceType"' not in record and "valueQuantity" not in record
    for fhir_word in ("Observation", "MedicationRequest", "DocumentReference", "AllergyIntolerance", "Encounter"):
        assert f">{fhir_word}" not in record, fhir_word


def test_the_ecg_is_drawn_as_twelve_leads_and_a_rhythm_strip(chest_pain_patient, dr_li_at_county_a):
    page = record_page(dr_li_at_county_a, chest_pain_patient)
    svg = re.search(r'<svg class="ecg-svg".*?</svg>', page, re.S).group(0)
    leads = re.findall(r'data-lead="([^"]+)" points="([^"]+)"', svg)
    assert [name for name, _ in leads] == [
        "I",
        "aVR",
        "V1",
        "V4",
        "II",
        "aVL",
        "V2",
        "V5",
        "III",
        "aVF",
        "V3",
        "V6",
        "II",
    ]
    assert all(len(points.split()) >= 400 for _name, points in leads)  # 2.5 s at 200 points per second
    assert "ST段抬高" in page  # the reading that came with it


def test_documents_are_rendered_and_the_pdf_is_served_inline(chest_pain_patient, dr_li_at_county_a):
    client = browser(dr_li_at_county_a)
    page = client.get(f"/access/patients/{chest_pain_patient['id']}/").content.decode()
    assert "主诉：胸骨后压榨样疼痛3小时" in page
    link = re.search(r'href="(/records/items/DocumentReference/[^"]+/content/0)"', page).group(1)
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_the_resident_id_is_masked_until_revealed_and_the_reveal_is_audited(chest_pain_patient, dr_li_at_county_a):
    full = resident_id(chest_pain_patient)
    page = record_page(dr_li_at_county_a, chest_pain_patient)
    assert full not in page
    assert f"{full[:6]}{'*' * 8}{full[-4:]}" in page
    phone = chest_pain_patient["telecom"][0]["value"]
    assert phone not in page and f"{phone[:3]}****{phone[-4:]}" in page

    before = AuditEvent.objects.filter(detail__operation="$reveal-identifiers").count()
    response = browser(dr_li_at_county_a).post(f"/records/patients/{chest_pain_patient['id']}/reveal")
    assert response.status_code == 200
    assert full in [row["value"] for row in response.json()["identifiers"]]
    rows = AuditEvent.objects.filter(detail__operation="$reveal-identifiers")
    assert rows.count() == before + 1
    row = rows.latest("pk")
    assert row.actor_id == str(dr_li_at_county_a.pk) and row.patient == f"Patient/{chest_pain_patient['id']}"


def test_the_specialist_reads_the_shared_record_on_the_request_page(chest_pain_request, cardiologist_zhang):
    page = browser(cardiologist_zhang).get(f"/referrals/{chest_pain_request.pk}/").content.decode()
    assert 'id="patient-record"' in page and "3.41" in page and 'class="ecg-svg"' in page
    patient_id = chest_pain_request.patient_ref.split("/", 1)[1]
    reads = AuditEvent.objects.filter(
        actor_id=str(cardiologist_zhang.pk), detail__operation="$record-view", fhir_id=patient_id
    )
    assert reads.exists()


def test_a_clinician_the_patient_was_not_shared_with_gets_404_and_learns_nothing(
    chest_pain_request, neurologist_zhou, official_wang
):
    patient_id = chest_pain_request.patient_ref.split("/", 1)[1]
    for user in (neurologist_zhou, official_wang):
        client = browser(user)
        reveal = client.post(f"/records/patients/{patient_id}/reveal")
        assert reveal.status_code == 404 and patient_id not in reveal.content.decode()
        missing = client.post("/records/patients/county-a-nobody/reveal")
        assert missing.status_code == 404 and missing.json() == reveal.json() | {}
        page = client.get(f"/access/patients/{patient_id}/")
        assert page.status_code in (403, 404) and "3.41" not in page.content.decode()


def test_nobody_signed_out_reaches_the_endpoints(chest_pain_patient, client):
    assert client.post(f"/records/patients/{chest_pain_patient['id']}/reveal").status_code == 302


def test_the_signed_opinion_reads_as_a_document_of_the_record(
    chest_pain_request, cardiologist_zhang, dr_li_at_county_a
):
    from hub.referrals import services

    services.task_accept(referral_id=chest_pain_request.pk, actor=cardiologist_zhang)
    services.opinion_sign(
        referral_id=chest_pain_request.pk,
        actor=cardiologist_zhang,
        title="会诊意见",
        conclusion="急性下壁STEMI，建议立即转运行急诊PCI",
        pin=with_signing_pin(cardiologist_zhang),
    )
    page = browser(dr_li_at_county_a).get(f"/referrals/{chest_pain_request.pk}/").content.decode()
    record = page[page.index('id="patient-record"') :]
    document = re.search(r'<article class="rec-doc" data-ref="Composition/[^"]+">(.*?)</article>', record, re.S)
    assert document and "会诊意见" in document.group(1) and "建议立即转运行急诊PCI" in document.group(1)
