"""The clinicians' pages in Chromium, phone first: a county doctor on a phone finds the patient, taps the chest-pain
preset, photographs the ECG and sends; the cardiologist is alerted, accepts and signs after a preview with his PIN;
the doctor's page follows by itself. The pages fit 360 px, keep alerts in view and pass axe-core (WCAG 2.1 AA)."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from federation.identity.services import patients_index
from hub.accounts.pins import signing_pin_set
from hub.referrals import services
from hub.referrals.models import Referral
from tests.browser.axe import axe_violations
from tests.browser.conftest import horizontal_overflow, in_viewport
from tests.browser.test_consultation_room import pages  # noqa: F401 - the fixture: pages that leave cleanly
from tests.factories import patient_resource
from tests.hub.referrals.conftest import store
from tests.hub.referrals.test_patient_search_and_files import png

PIN = "582046"


@pytest.fixture
def chest_pain_patient(county_a) -> dict:
    patient = store(patient_resource(7, mrn_system="urn:site:county-a:mrn"), owner="county-a")
    patients_index(site="county-a", patients=[patient])
    store(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "10839-9"}]},
            "subject": {"reference": f"Patient/{patient['id']}"},
            "effectiveDateTime": "2026-11-26T09:40:00+08:00",
            "valueQuantity": {"value": 2.35, "unit": "ng/mL"},
        },
        owner="county-a",
    )
    return patient


def _mrn(patient: dict) -> str:
    return next(i["value"] for i in patient["identifier"] if i["system"].endswith(":mrn"))


def _han(patient: dict) -> str:
    return next(n["text"] for n in patient["name"] if not n["text"].isascii())


def _no_serious_violations(page, where: str) -> None:
    found = axe_violations(page)
    assert not found, f"axe on {where}:\n" + "\n".join(found)


def test_a_chest_pain_request_from_a_phone_to_a_signed_opinion(
    pages,  # noqa: F811
    dr_li_at_county_a,
    cardiologist_zhang,
    chest_pain_patient,
    phone,
    pc,
    tmp_path,
):
    signing_pin_set(user=cardiologist_zhang, pin=PIN)
    name = _han(chest_pain_patient)
    specialist = pages(cardiologist_zhang, viewport=pc, language="en")
    specialist.goto("/referrals/")
    doctor = pages(dr_li_at_county_a, viewport=phone, language="zh-hans")

    # The county doctor, on a phone: search by record number, pick, one tap for chest pain, a photo, send.
    started = time.monotonic()
    doctor.goto("/referrals/new/")
    doctor.fill("#id_q", _mrn(chest_pain_patient))
    doctor.locator("button.pick").first.click()
    doctor.wait_for_selector("#chosen-patient")
    assert "肌钙蛋白I · 2.35 ng/mL" in doctor.locator("ul.choices").inner_text()  # records in clinical words
    doctor.locator("ul.choices input").first.check()
    doctor.locator("button.preset.chest_pain").click()
    assert doctor.input_value("#id_urgency") == "emergency" and doctor.input_value("#id_pathway") == "chest_pain"
    assert doctor.input_value("#id_target_specialty") == "cardiology"
    doctor.fill("#id_clinical_question", "胸痛1小时，心电图见照片，请会诊")
    doctor.locator('button.now[data-for="id_first_medical_contact"]').click()
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", doctor.input_value("#id_first_medical_contact"))
    photo = tmp_path / "ecg.png"
    photo.write_bytes(png(40, 30))
    doctor.set_input_files("#id_photo", str(photo))
    assert doctor.locator("#files-chosen img").count() == 1
    assert horizontal_overflow(doctor) == 0
    _no_serious_violations(doctor, "the new request (phone, zh-hans)")
    doctor.locator('button[name="send"]').click()
    doctor.wait_for_selector("#referral-page, #form-errors")
    assert not doctor.locator("#form-errors").count(), doctor.locator("#form-errors").inner_text()
    assert re.search(r"/referrals/\d+/$", doctor.url)
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"the request took {elapsed:.0f} s to send"
    referral = Referral.objects.get()
    assert referral.urgency == "emergency" and referral.pathway == "chest_pain"
    assert any(ref.startswith("Media/") for ref in referral.attachments)
    assert doctor.locator("#referral-page").get_attribute("data-status") == "requested"
    assert horizontal_overflow(doctor) == 0
    _no_serious_violations(doctor, "the request's page (phone, zh-hans)")

    # The cardiologist's worklist alerts him (patient, pathway, hospital) and shows the new request by itself.
    alert = specialist.locator(".live-alert", has_text="Chest pain").first
    alert.wait_for()
    assert name in alert.inner_text() and "东川县人民医院" in alert.inner_text()  # patient, pathway, hospital
    assert "New request" in alert.inner_text()  # in the reader's language, whoever sent it
    assert in_viewport(specialist, ".live-alert")
    specialist.wait_for_selector(f'[data-referral="{referral.pk}"]')
    assert int(specialist.locator("#unread-count").inner_text()) >= 1
    specialist.locator("#inbox-button").click()  # the inbox lists it; "mark all read" clears the count
    assert specialist.locator("#inbox").is_visible() and name in specialist.locator("#inbox-list").inner_text()
    specialist.locator("#inbox-read").click()
    assert specialist.locator("#unread-count").is_hidden()
    specialist.keyboard.press("Escape")
    assert specialist.locator("#inbox").is_hidden()
    _no_serious_violations(specialist, "the worklist with an alert (pc, en)")

    # He reads the request with its photo, accepts, writes from a template, previews and signs with his PIN.
    specialist.goto(f"/referrals/{referral.pk}/")
    image = specialist.locator(".attachments img").first
    image.wait_for()
    assert specialist.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle()) == 40
    specialist.locator('form[action$="/accept/"] button').click()
    specialist.wait_for_selector('#referral-page[data-status="accepted"]')
    doctor.wait_for_selector('#referral-page[data-status="accepted"]')  # the doctor's page followed by itself
    assert in_viewport(doctor, ".live-alert")

    # His page follows his own acceptance too (it fetches itself again): let it settle before he writes, as a
    # person would see the page change first; on a loaded machine the refetch can land after the first keystroke.
    specialist.wait_for_load_state("networkidle")
    specialist.locator("#action-opinion summary").click()
    specialist.select_option("#opinion-template", index=1)  # "STEMI: primary PCI"
    expect(specialist.locator("#id_opinion-decision")).to_have_value("pci")
    specialist.fill("#id_opinion-conclusion", "急性前壁ST段抬高型心肌梗死")
    specialist.locator('button[name="preview"]').click()
    specialist.wait_for_selector("#opinion-preview")
    assert "急性前壁ST段抬高型心肌梗死" in specialist.locator("#opinion-preview").inner_text()
    assert Referral.objects.get().status == "accepted"  # nothing signed by a preview
    _no_serious_violations(specialist, "the opinion's preview (pc, en)")
    specialist.fill("#id_opinion-pin-confirm", PIN)
    specialist.locator('button[name="confirm"]').click()
    specialist.wait_for_selector('#referral-page[data-status="completed"]')

    # The doctor's page shows the opinion and the decision, and no longer "requested" with its deadline.
    doctor.wait_for_selector('#referral-page[data-status="completed"]')
    head = doctor.locator("#referral-head").inner_text()
    assert "已申请" not in head and "须于" not in head
    assert "急性前壁ST段抬高型心肌梗死" in doctor.locator("#referral-page").inner_text()
    nodes = set(Referral.objects.get().time_nodes.values_list("node", flat=True))
    assert {"first_medical_contact", "diagnosis", "decision", "cath_lab_called"} <= nodes
    assert horizontal_overflow(doctor) == 0


@pytest.fixture
def worklist_world(dr_li_at_county_a, cardiologist_zhang, chest_pain_patient):
    for urgency in ("emergency", "urgent", "routine"):
        services.referral_create(
            requester=dr_li_at_county_a,
            kind="consultation",
            urgency=urgency,
            pathway="chest_pain" if urgency == "emergency" else "other",
            target_specialty="cardiology",
            patient_ref=f"Patient/{chest_pain_patient['id']}",
            clinical_question="胸痛待查，请会诊。" * 5,
            consent=services.ConsentGiven(),
        )
    return Referral.objects.order_by("pk").first()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("size", ["phone", "pc"])
def test_the_clinicians_pages_fit_the_screen_and_pass_axe(
    pages,  # noqa: F811
    worklist_world,
    dr_li_at_county_a,
    cardiologist_zhang,
    chest_pain_patient,
    language,
    size,
    request,
):
    viewport = request.getfixturevalue(size)
    for user, paths in (
        (dr_li_at_county_a, ["/referrals/", "/referrals/new/?q=" + _mrn(chest_pain_patient), "/profile/"]),
        (cardiologist_zhang, ["/referrals/", f"/referrals/{worklist_world.pk}/"]),
    ):
        page = pages(user, viewport=viewport, language=language)
        for path in paths:
            page.goto(path)
            assert horizontal_overflow(page) == 0, f"{path} is wider than {viewport['width']} px"
            _no_serious_violations(page, f"{path} ({size}, {language})")
            small = page.evaluate(
                """() => [...document.querySelectorAll('main button, main .button, main summary, main select')]
                  .filter((el) => el.offsetParent !== null && el.getBoundingClientRect().height < 44)
                  .map((el) => el.outerHTML.slice(0, 80))"""
            )
            assert not small, f"tap targets under 44 px on {path}: {small}"
        if user == dr_li_at_county_a:
            page.goto("/referrals/")
            cards = page.locator(".wl-cards")
            assert cards.is_visible() == (size == "phone")
            assert page.locator("table.wl-table").is_visible() == (size == "pc")  # cards or the table, never both
            if size == "phone":
                first = page.locator(".wl-card").first
                assert "胸痛" in first.inner_text() or "Chest pain" in first.inner_text()
                assert first.locator(".wl-next").is_visible()
                assert first.bounding_box()["y"] < viewport["height"]  # the first request above the fold
            english = language == "en"
            assert ("Filters" in page.content()) == english


def test_after_a_refused_submission_the_first_error_is_in_view_and_focused(
    pages,  # noqa: F811
    dr_li_at_county_a,
    phone,
):
    page = pages(dr_li_at_county_a, viewport=phone, language="en")
    page.goto("/referrals/new/")
    page.locator('button[name="send"]').click()
    page.wait_for_selector("#form-errors")
    focused = ""
    for _ in range(50):  # the page's deferred script moves the focus once the document is parsed
        focused = page.evaluate("() => document.activeElement && document.activeElement.id")
        if focused:
            break
        page.wait_for_timeout(100)
    assert focused in ("id_patient", "form-errors")
    assert in_viewport(page, "#" + focused)


def test_the_english_page_shows_routing_reasons_in_english(
    pages,  # noqa: F811
    worklist_world,
    cardiologist_zhang,
    pc,
):
    stored = worklist_world.routing_decisions.first()
    stored.reason = "急诊：张建华医生值班"  # routed while Chinese was active: the stored reason is Chinese
    stored.save(update_fields=["reason"])
    page = pages(cardiologist_zhang, viewport=pc, language="en")
    page.goto(f"/referrals/{worklist_world.pk}/")
    text = page.locator("main").inner_text()
    assert "急诊：张建华医生值班" not in text
    assert "fewest open cases" in text or "on call" in text or "asked for" in text or "queue" in text
