"""The request's FHIR records, read and searched through the gateway's REST API by the people entitled."""

from __future__ import annotations

import pytest


@pytest.fixture
def li_request(api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request) -> dict:
    return api_for(dr_li_at_county_a).post("", chest_pain_request).json()


def fhir_get(client, headers, path: str):
    return client.get(f"/fhir/{path}", HTTP_ACCEPT="application/fhir+json", **headers)


def test_the_requesting_site_searches_its_tasks_by_state_and_patient(
    client, token_for, dr_li_at_county_a, dr_zhao_at_county_b, li_request
):
    li = token_for(dr_li_at_county_a)

    found = fhir_get(client, li, f"Task?status=requested&patient={li_request['patient']}")

    assert found.status_code == 200, found.content
    ids = [entry["resource"]["id"] for entry in found.json().get("entry", [])]
    assert ids == [li_request["fhir"]["task"].split("/")[1]]
    assert fhir_get(client, li, f"ServiceRequest?patient={li_request['patient']}&priority=urgent").json()["total"] == 1
    other = fhir_get(client, token_for(dr_zhao_at_county_b), "Task?status=requested")
    assert other.status_code == 200 and not other.json().get("entry")


def test_the_routed_specialist_reads_the_shared_patients_records_and_others_do_not(
    client, token_for, cardiologist_zhang, neurologist_zhou, dr_zhao_at_county_b, li_request, chest_pain_request
):
    zhang, zhou = token_for(cardiologist_zhang), token_for(neurologist_zhou)
    ecg = chest_pain_request["attachments"][0]

    for path in (li_request["patient"], ecg, li_request["fhir"]["task"], li_request["fhir"]["service_request"]):
        assert fhir_get(client, zhang, path).status_code == 200, path
        assert fhir_get(client, zhou, path).status_code == 404, path
        assert fhir_get(client, token_for(dr_zhao_at_county_b), path).status_code == 404, path
