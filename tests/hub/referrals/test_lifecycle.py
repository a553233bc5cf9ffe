"""The whole lifecycle through the API, and what the gateway holds at each step."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL_ACTOR
from tests.factories import with_signing_pin


def read(reference: str) -> dict:
    resource_type, fhir_id = reference.split("/")
    return fhir.resource_read(resource_type=resource_type, fhir_id=fhir_id, actor=INTERNAL_ACTOR)


def test_a_consultation_goes_from_request_to_signed_opinion(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request
):
    li, zhang = api_for(dr_li_at_county_a), api_for(cardiologist_zhang)

    # Given Dr Li asks cardiology for an urgent chest-pain consultation
    created = li.post("", chest_pain_request)
    assert created.status_code == 201, created.json()
    referral = created.json()
    rid = referral["id"]
    assert referral["status"] == "requested"
    assert referral["owner"]["username"] == "cardiologist_zhang"
    assert referral["routing_decisions"][0]["rule"] == "load"
    task = read(referral["fhir"]["task"])
    assert task["status"] == "requested" and task["owner"]["identifier"]["value"] == "cardiologist_zhang"
    service_request = read(referral["fhir"]["service_request"])
    assert service_request["status"] == "active" and service_request["priority"] == "urgent"
    assert service_request["subject"]["reference"] == chest_pain_request["patient"]
    assert read(referral["fhir"]["consent"])["status"] == "active"
    assert task["basedOn"] == [{"reference": referral["fhir"]["service_request"]}]
    assert {"reference": referral["fhir"]["consent"]} in service_request["supportingInfo"]

    # When the cardiologist receives, accepts, asks for more and gets it
    assert zhang.post(f"{rid}/receive").json()["status"] == "received"
    assert zhang.post(f"{rid}/accept").json()["status"] == "accepted"
    asked = zhang.post(f"{rid}/request-info", {"question": "请补充肌钙蛋白结果"}).json()
    assert asked["business_status"] == "awaiting-information"
    assert read(referral["fhir"]["task"])["businessStatus"]["text"] == "awaiting-information"
    answered = li.post(f"{rid}/provide-info", {"note": "肌钙蛋白 I 2.3 ng/mL"}).json()
    assert answered["business_status"] == ""

    # ... schedules a session and signs the opinion
    start = timezone.now() + timedelta(minutes=5)
    scheduled = zhang.post(
        f"{rid}/schedule", {"starts_at": start.isoformat(), "ends_at": (start + timedelta(minutes=30)).isoformat()}
    )
    assert scheduled.status_code == 201 and scheduled.json()["status"] == "in-progress"
    appointment = read(scheduled.json()["appointments"][0]["fhir"])
    assert appointment["status"] == "booked"
    pin = with_signing_pin(cardiologist_zhang)
    signed = zhang.post(
        f"{rid}/opinion", {"title": "会诊意见", "conclusion": "急性前壁心梗，建议立即转运行急诊PCI。", "pin": pin}
    )
    assert signed.status_code == 201

    # Then the Task is completed with the signed Composition as its output
    done = signed.json()
    assert done["status"] == "completed"
    opinion = done["opinions"][0]
    composition = read(opinion["composition"])
    assert composition["status"] == "final"
    assert composition["attester"][0]["mode"] == "legal"
    assert composition["attester"][0]["party"]["identifier"]["value"] == "cardiologist_zhang"
    provenance = read(opinion["provenance"])
    assert provenance["target"][0]["reference"] == opinion["composition"]
    assert provenance["signature"][0]["when"]
    task = read(referral["fhir"]["task"])
    assert task["status"] == "completed"
    assert task["output"][0]["valueReference"]["reference"] == opinion["composition"]
    assert read(referral["fhir"]["service_request"])["status"] == "completed"
    actions = [step["action"] for step in done["transitions"]]
    assert actions == ["submit", "receive", "accept", "request_info", "provide_info", "schedule", "complete"]
    assert all(step["at"] for step in done["transitions"])


def test_an_illegal_transition_is_a_409(api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request):
    li, zhang = api_for(dr_li_at_county_a), api_for(cardiologist_zhang)
    rid = li.post("", chest_pain_request).json()["id"]

    response = zhang.post(f"{rid}/opinion", {"conclusion": "未接诊就签署", "pin": with_signing_pin(cardiologist_zhang)})

    assert response.status_code == 409
    assert response.json()["error"] == "illegal_transition"
    assert "requested" in response.json()["detail"]


def test_only_the_requester_cancels_and_only_the_fulfiller_accepts(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request, county_a
):
    from hub.accounts.constants import Role
    from tests.factories import UserFactory

    colleague_of_li = UserFactory(username="dr_wu", role=Role.COUNTY_DOCTOR, site=county_a)
    li, zhang = api_for(dr_li_at_county_a), api_for(cardiologist_zhang)
    rid = li.post("", chest_pain_request).json()["id"]

    assert li.post(f"{rid}/accept").status_code == 403
    assert zhang.post(f"{rid}/cancel", {"reason": "不需要"}).status_code == 403
    assert api_for(colleague_of_li).post(f"{rid}/cancel", {"reason": "x"}).status_code == 403
    cancelled = li.post(f"{rid}/cancel", {"reason": "患者已自行前往上级医院"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert read(cancelled.json()["fhir"]["task"])["status"] == "cancelled"
    assert read(cancelled.json()["fhir"]["service_request"])["status"] == "revoked"
    assert zhang.post(f"{rid}/accept").status_code == 409


def test_a_signed_opinion_is_immutable_and_takes_addenda(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request
):
    import pytest

    from fhir_gateway.errors import Forbidden
    from hub.accounts.fhir import actor_from_request

    li, zhang = api_for(dr_li_at_county_a), api_for(cardiologist_zhang)
    rid = li.post("", chest_pain_request).json()["id"]
    zhang.post(f"{rid}/accept")
    pin = with_signing_pin(cardiologist_zhang)
    opinion = zhang.post(f"{rid}/opinion", {"conclusion": "建议冠脉造影", "pin": pin}).json()["opinions"][0]
    composition = read(opinion["composition"])

    class Request:
        user = cardiologist_zhang

    changed = {**composition, "title": "改过的意见"}
    with pytest.raises(Forbidden):
        fhir.resource_update(
            resource_type="Composition", fhir_id=composition["id"], resource=changed, actor=actor_from_request(Request)
        )
    with pytest.raises(Forbidden):
        fhir.resource_update(
            resource_type="Composition", fhir_id=composition["id"], resource=changed, actor=INTERNAL_ACTOR
        )

    added = zhang.post(f"{rid}/addendum", {"opinion": opinion["id"], "conclusion": "补充：造影前查肾功能", "pin": pin})
    assert added.status_code == 201
    addendum = added.json()["opinions"][1]
    assert addendum["appends"] == opinion["id"]
    relates = read(addendum["composition"])["relatesTo"][0]
    assert relates == {"code": "appends", "targetReference": {"reference": opinion["composition"]}}
    assert read(opinion["composition"])["title"] == composition["title"]
    assert li.post(f"{rid}/addendum", {"opinion": opinion["id"], "conclusion": "x", "pin": pin}).status_code == 403
