"""The readable record in a real browser, on a phone (360 px) and a PC: the lab table, the ECG drawn, the CT in
the DICOM viewer, identifiers revealed on demand, nothing wider than the screen."""

from __future__ import annotations

from datetime import datetime

import pytest

from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL_ACTOR
from hub.demo.record_content import chest_pain_records, stroke_records
from hub.demo.record_imaging import head_ct
from hub.demo.records import records_store
from tests.browser.conftest import horizontal_overflow
from tests.factories import patient_resource

NOW = datetime.fromisoformat("2026-11-26T10:00:00+08:00")


@pytest.fixture
def patients(transactional_db, county_a, dr_li_at_county_a) -> dict[str, dict]:
    """County A's chest-pain patient (STEMI: ECG, labs, documents) and stroke patient (head CT)."""
    chest = fhir.resource_create(resource=patient_resource(21), actor=INTERNAL_ACTOR, owner="county-a").resource
    records_store(chest_pain_records(f"Patient/{chest['id']}", NOW), site="county-a")
    stroke = fhir.resource_create(resource=patient_resource(22), actor=INTERNAL_ACTOR, owner="county-a").resource
    ref = f"Patient/{stroke['id']}"
    files, study, series, uids = head_ct(patient_name="TEST", patient_id=stroke["id"], seed=ref, when=NOW)
    records_store(
        stroke_records(ref, NOW, slices=files, study_uid=study, series_uid=series, instance_uids=uids), site="county-a"
    )
    return {"chest": chest, "stroke": stroke}


def _open(page, patient: dict):
    page.goto(f"/access/patients/{patient['id']}/")
    page.wait_for_selector("#patient-record")


def _ecg_drawn(page) -> dict:
    return page.evaluate(
        """() => {
          const lines = [...document.querySelectorAll('.ecg-svg polyline.ecg-lead')];
          const boxes = lines.map(l => l.getBoundingClientRect());
          return {leads: lines.length, drawn: boxes.filter(b => b.width > 20 && b.height > 2).length,
                  points: Math.min(...lines.map(l => l.points.numberOfItems))};
        }"""
    )


def _slice_shown(page) -> dict:
    page.wait_for_selector(".rec-dicom[data-shown]", timeout=20_000)
    return page.evaluate(
        """() => {
          const box = document.querySelector('.rec-dicom');
          const canvas = box.querySelector('canvas');
          const c = canvas.getContext('2d');
          const data = c.getImageData(0, 0, canvas.width, canvas.height).data;
          let bright = 0, dark = 0;
          for (let i = 0; i < data.length; i += 4) { if (data[i] > 200) bright++; else if (data[i] < 30) dark++; }
          return {shown: box.dataset.shown, width: canvas.width, bright, dark, pixels: data.length / 4};
        }"""
    )


@pytest.mark.parametrize("viewport", ["phone", "pc"])
def test_the_chest_pain_record_reads_on_a_phone_and_a_pc(page_for, patients, dr_li_at_county_a, viewport, request):
    page = page_for(dr_li_at_county_a, viewport=request.getfixturevalue(viewport), language="zh-hans")
    _open(page, patients["chest"])
    row = page.locator('tr.rec-lab[data-code="10839-9"]')
    assert "肌钙蛋白I" in row.inner_text() and "3.41" in row.inner_text() and "ng/mL" in row.inner_text()
    assert row.locator(".rec-flag-H").is_visible()
    ecg = _ecg_drawn(page)
    assert ecg["leads"] == 13 and ecg["drawn"] == 13 and ecg["points"] >= 400
    page.wait_for_selector(".rec-chart svg")  # the troponin trend and the vital signs, drawn by ECharts
    assert page.locator(".rec-chart svg").count() >= 3
    assert horizontal_overflow(page) == 0
    for button in page.locator("button.rec-reveal, button.rec-present").all():
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44


def test_identifiers_are_masked_until_the_doctor_asks(page_for, patients, dr_li_at_county_a, phone):
    page = page_for(dr_li_at_county_a, viewport=phone, language="en")
    _open(page, patients["chest"])
    full = next(i["value"] for i in patients["chest"]["identifier"] if i["system"].endswith("1.3"))
    ids = page.locator(".rec-ids")
    assert full not in ids.inner_text() and f"{full[:6]}********{full[-4:]}" in ids.inner_text()
    page.click("button.rec-reveal")
    page.wait_for_function("full => document.querySelector('.rec-ids').innerText.includes(full)", arg=full)
    page.click("button.rec-reveal")
    assert full not in ids.inner_text()


@pytest.mark.parametrize("viewport", ["phone", "pc"])
def test_the_dicom_viewer_shows_the_head_ct(page_for, patients, dr_li_at_county_a, viewport, request):
    page = page_for(dr_li_at_county_a, viewport=request.getfixturevalue(viewport), language="en")
    _open(page, patients["stroke"])
    shown = _slice_shown(page)
    assert shown["shown"] == "11" and shown["width"] > 100
    assert shown["bright"] > shown["pixels"] * 0.02 and shown["dark"] > shown["pixels"] * 0.1  # skull and air
    page.fill(".rec-dicom-slice", "3")
    page.dispatch_event(".rec-dicom-slice", "input")
    page.wait_for_function("() => document.querySelector('.rec-dicom').dataset.shown === '3'")
    assert "颅内未见出血" in page.inner_text(".rec-documents")
    assert horizontal_overflow(page) == 0


def test_the_record_pages_pass_axe(page_for, patients, dr_li_at_county_a, phone, pc):
    """axe-core's WCAG 2.1 A/AA rules (its runner comes with the clinicians' pages' browser tests)."""
    axe = pytest.importorskip("tests.browser.axe", reason="tests/browser/axe.py (axe-core) is not here yet")
    for viewport, patient in ((phone, "chest"), (pc, "stroke")):
        page = page_for(dr_li_at_county_a, viewport=viewport, language="zh-hans")
        _open(page, patients[patient])
        violations = [v for v in axe.axe_violations(page) if "#patient-record" in str(v) or "rec-" in str(v)]
        assert violations == [], violations


def test_the_specialist_reads_the_record_on_the_request_page_on_a_phone(
    page_for, patients, dr_li_at_county_a, cardiologist_zhang, phone
):
    from hub.referrals import services

    referral = services.referral_create(
        requester=dr_li_at_county_a,
        kind="consultation",
        urgency="emergency",
        pathway="chest_pain",
        patient_ref=f"Patient/{patients['chest']['id']}",
        clinical_question="胸痛3小时",
        consent=services.ConsentGiven(method="written", given_by="patient"),
    )
    page = page_for(cardiologist_zhang, viewport=phone, language="zh-hans")
    page.goto(f"/referrals/{referral.pk}/")
    page.wait_for_selector("#patient-record .rec-labs")
    assert _ecg_drawn(page)["drawn"] == 13
    # The record itself is never wider than the screen (its tables and tracings scroll in their own boxes).
    widths = page.evaluate(
        "() => { const r = document.querySelector('#patient-record').getBoundingClientRect();"
        " return [r.left, r.right, window.innerWidth]; }"
    )
    assert widths[0] >= 0 and widths[1] <= widths[2]
