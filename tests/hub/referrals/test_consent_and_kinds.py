"""Consent, emergencies, down-referrals, remote diagnosis and drafts."""

from __future__ import annotations

import pytest

from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL_ACTOR
from tests.factories import with_signing_pin


def read(reference: str) -> dict:
    resource_type, fhir_id = reference.split("/")
    return fhir.resource_read(resource_type=resource_type, fhir_id=fhir_id, actor=INTERNAL_ACTOR)


def test_a_request_without_consent_is_refused_and_nothing_is_stored(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request
):
    from fhir_gateway.models import Resource
    from hub.referrals.models import Referral

    before = Resource.objects.count()
    response = api_for(dr_li_at_county_a).post("", {**chest_pain_request, "consent": None})

    assert response.status_code == 400
    assert response.json()["error"] == "consent_required"
    assert Referral.objects.count() == 0
    assert Resource.objects.count() == before


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"target_site": "nowhere"}, "invalid_target"),
        ({"named_expert": "nobody"}, "unknown_user"),
        ({"time_nodes": {"lunch": "2026-11-26T08:00:00+08:00"}}, "invalid_time_node"),
    ],
)
def test_an_unknown_site_expert_or_time_node_is_refused_and_nothing_is_stored(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request, change, error
):
    from fhir_gateway.models import Resource
    from hub.referrals.models import Referral

    before = Resource.objects.count()
    response = api_for(dr_li_at_county_a).post("", {**chest_pain_request, **change})

    assert response.status_code == 400, response.content
    assert response.json()["error"] == error
    assert Referral.objects.count() == 0
    assert Resource.objects.count() == before


def test_an_emergency_without_consent_records_it_as_deferred(
    api_for, dr_li_at_county_a, neurologist_zhou, patient_at_county_a
):
    body = {
        "kind": "consultation",
        "urgency": "emergency",
        "pathway": "stroke",
        "patient": f"Patient/{patient_at_county_a['id']}",
        "clinical_question": "突发左侧肢体无力40分钟，是否溶栓？",
        "time_nodes": {"symptom_onset": "2026-11-26T08:00:00+08:00", "door": "2026-11-26T08:30:00+08:00"},
    }

    response = api_for(dr_li_at_county_a).post("", body)

    assert response.status_code == 201, response.json()
    referral = response.json()
    assert referral["consent_state"] == "deferred"
    assert read(referral["fhir"]["consent"])["status"] == "proposed"
    assert referral["owner"]["username"] == "neurologist_zhou"
    assert {n["node"] for n in referral["time_nodes"]} == {"symptom_onset", "door", "consult_requested"}


def test_a_down_referral_carries_a_discharge_summary_to_the_county(
    api_for, cardiologist_zhang, dr_li_at_county_a, county_a, general_hospital
):
    from tests.factories import patient_resource
    from tests.hub.referrals.conftest import store

    patient = store(patient_resource(7, mrn_system="urn:site:general:mrn"), owner="general")
    zhang = api_for(cardiologist_zhang)
    body = {
        "kind": "down_referral",
        "urgency": "routine",
        "patient": f"Patient/{patient['id']}",
        "target_site": "county-a",
        "clinical_question": "PCI术后病情稳定，转回县医院继续康复治疗",
        "consent": {"method": "written", "given_by": "family"},
    }
    assert zhang.post("", body).json()["error"] == "discharge_summary_required"

    response = zhang.post("", {**body, "discharge_summary": "出院诊断：急性前壁心肌梗死 PCI 术后\n出院带药：阿司匹林"})

    assert response.status_code == 201, response.json()
    referral = response.json()
    summary = read(referral["attachments"][0])
    assert summary["type"]["coding"][0]["code"] == "18842-5"
    assert referral["target_site"] == "county-a"
    li = api_for(dr_li_at_county_a)
    assert [r["id"] for r in li.get("", scope="team").json()["results"]] == [referral["id"]]  # site-wide queue
    assert li.get(f"{referral['id']}").status_code == 200
    accepted = li.post(f"{referral['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["owner"]["username"] == "dr_li"
    assert api_for(dr_li_at_county_a).post("", {**body, "discharge_summary": "x"}).status_code == 403


def test_a_remote_ecg_diagnosis_is_signed_as_an_ecg_report(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request
):
    li, zhang = api_for(dr_li_at_county_a), api_for(cardiologist_zhang)
    body = {
        **chest_pain_request,
        "kind": "remote_diagnosis",
        "study_kind": "ecg",
        "target_specialty": "cardiology",
        "pathway": "other",
    }
    assert li.post("", {**body, "study_kind": ""}).status_code == 400

    rid = li.post("", body).json()["id"]
    zhang.post(f"{rid}/accept")
    pin = with_signing_pin(cardiologist_zhang)
    opinion = zhang.post(f"{rid}/opinion", {"conclusion": "急性前壁 STEMI", "pin": pin}).json()["opinions"][0]

    assert read(opinion["composition"])["type"]["coding"][0]["code"] == "11524-6"


def test_a_draft_is_private_until_submitted(api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request):
    li, zhang = api_for(dr_li_at_county_a), api_for(cardiologist_zhang)
    draft = li.post("", {**chest_pain_request, "submit": False}).json()
    assert draft["status"] == "draft" and draft["owner"] is None
    assert read(draft["fhir"]["task"])["status"] == "draft"
    assert zhang.get(f"{draft['id']}").status_code == 404

    submitted = li.post(f"{draft['id']}/submit")

    assert submitted.status_code == 200 and submitted.json()["status"] == "requested"
    assert zhang.get(f"{draft['id']}").status_code == 200
    assert li.post(f"{draft['id']}/submit").status_code == 409


def test_a_specialist_sends_a_shared_county_patient_back_down(
    api_for, dr_li_at_county_a, neurologist_zhou, patient_at_county_a, cardiologist_zhang, chest_pain_request
):
    li, zhang = api_for(dr_li_at_county_a), api_for(cardiologist_zhang)
    up = li.post("", chest_pain_request).json()
    zhang.post(f"{up['id']}/accept")
    zhang.post(f"{up['id']}/opinion", {"conclusion": "PCI 术后稳定", "pin": with_signing_pin(cardiologist_zhang)})
    body = {
        "kind": "down_referral",
        "urgency": "routine",
        "patient": up["patient"],
        "target_site": "county-a",
        "clinical_question": "PCI 术后，回县医院康复",
        "consent": {"method": "written"},
        "discharge_summary": "出院诊断：急性心肌梗死 PCI 术后",
        "attachments": chest_pain_request["attachments"],
    }

    assert api_for(neurologist_zhou).post("", body).status_code == 404  # never shared with her
    response = zhang.post("", body)

    assert response.status_code == 201, response.json()
    assert response.json()["patient_display"] == up["patient_display"]
