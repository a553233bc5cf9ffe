"""Each role's view: county sites are walled off from each other, specialists see what reaches them."""

from __future__ import annotations

import pytest

from hub.referrals.selectors import owners_visible_to, patient_refs_shared_with, resource_refs_shared_with


@pytest.fixture
def li_request(api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request) -> dict:
    return api_for(dr_li_at_county_a).post("", chest_pain_request).json()


def test_a_county_b_doctor_cannot_see_or_touch_county_as_request(api_for, dr_zhao_at_county_b, li_request):
    zhao = api_for(dr_zhao_at_county_b)
    rid = li_request["id"]

    assert zhao.get("").json()["count"] == 0
    assert zhao.get(f"{rid}").status_code == 404
    for action, body in [("cancel", {"reason": "x"}), ("accept", {}), ("provide-info", {"note": "x"})]:
        response = zhao.post(f"{rid}/{action}", body)
        assert response.status_code == 404, action
        assert response.json()["error"] == "not_found"
    assert patient_refs_shared_with(dr_zhao_at_county_b) == set()


def test_a_county_b_doctor_cannot_refer_county_as_patient(
    api_for, dr_zhao_at_county_b, cardiologist_zhang, chest_pain_request
):
    response = api_for(dr_zhao_at_county_b).post("", {**chest_pain_request, "attachments": []})

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "No such patient at your site."}


def test_records_of_another_site_cannot_be_attached(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request, patient_at_county_b
):
    from tests.hub.referrals.conftest import store

    other = store(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "BP"},
            "subject": {"reference": f"Patient/{patient_at_county_b['id']}"},
        },
        owner="county-b",
    )
    body = {**chest_pain_request, "attachments": [f"Observation/{other['id']}"]}

    response = api_for(dr_li_at_county_a).post("", body)

    assert response.status_code == 404
    assert "Observation/" in response.json()["detail"]


def test_a_specialist_sees_requests_routed_to_their_department_and_nothing_else(
    api_for, cardiologist_zhang, neurologist_zhou, li_request, chest_pain_request
):
    rid = li_request["id"]
    assert [r["id"] for r in api_for(cardiologist_zhang).get("").json()["results"]] == [rid]
    assert api_for(neurologist_zhou).get("").json()["count"] == 0
    assert api_for(neurologist_zhou).get(f"{rid}").status_code == 404
    assert patient_refs_shared_with(cardiologist_zhang) == {chest_pain_request["patient"]}
    assert patient_refs_shared_with(neurologist_zhou) == set()
    assert owners_visible_to(cardiologist_zhang) == {"county-a": {chest_pain_request["patient"]}}
    refs = resource_refs_shared_with(cardiologist_zhang)
    assert {
        li_request["fhir"]["task"],
        li_request["fhir"]["service_request"],
        *chest_pain_request["attachments"],
    } <= refs


def test_an_invited_expert_sees_the_request(api_for, cardiologist_zhang, neurologist_zhou, li_request):
    zhang = api_for(cardiologist_zhang)
    rid = li_request["id"]
    zhang.post(f"{rid}/accept")

    response = zhang.post(f"{rid}/invite", {"usernames": ["neurologist_zhou"]})

    assert response.status_code == 200
    assert {p["user"]["username"]: p["role"] for p in response.json()["participants"]}["neurologist_zhou"] == "expert"
    assert api_for(neurologist_zhou).get(f"{rid}").status_code == 200
    assert patient_refs_shared_with(neurologist_zhou) == {li_request["patient"]}


def test_an_official_sees_only_aggregates(api_for, official_wang, li_request):
    wang = api_for(official_wang)

    assert wang.get("").status_code == 403
    assert wang.get(f"{li_request['id']}").status_code == 403
    stats = wang.get("statistics")
    assert stats.status_code == 200
    assert stats.json()["total"] == 1 and stats.json()["by_status"] == {"requested": 1}
    assert "patient" not in str(stats.json())


def test_a_doctor_may_not_read_statistics(api_for, dr_li_at_county_a, li_request):
    assert api_for(dr_li_at_county_a).get("statistics").status_code == 403


def test_the_api_is_documented_and_needs_authentication(client, db):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/referrals/{referral_id}/accept" in schema.content
    assert client.get("/api/referrals/").status_code in (401, 403)


def test_bad_input_gets_a_clear_400(api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request):
    li = api_for(dr_li_at_county_a)
    assert li.post("", {**chest_pain_request, "urgency": "whenever"}).json()["error"] == "invalid"
    assert li.post("", {**chest_pain_request, "patient": "not a reference"}).status_code == 400
    assert li.post("", {**chest_pain_request, "attachments": ["Patient/x"]}).status_code == 400
    response = li.client.post("/api/referrals/", "{not json", content_type="application/json", **li.headers)
    assert response.status_code == 400 and response.json()["error"] == "parse_error"
