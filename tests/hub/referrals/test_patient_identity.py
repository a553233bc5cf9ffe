"""A request's patient is found through the master patient index: named at the requester's site, known as a person.

Li Ming is county A's patient; county B registered him too (another record number, the same resident ID).
"""

from __future__ import annotations

import pytest

from federation.identity.models import GoldenRecord, MpiRecord
from federation.identity.resident_id import RESIDENT_ID_SYSTEM
from federation.identity.services import patients_index
from hub.referrals.constants import PERSON_EXTENSION_URL, PERSON_ID_SYSTEM
from tests.factories import patient_resource
from tests.hub.referrals.conftest import store


def resident_id_of(patient: dict) -> str:
    return next(i["value"] for i in patient["identifier"] if i["system"] == RESIDENT_ID_SYSTEM)


def golden_of(patient: dict) -> str:
    return MpiRecord.objects.select_related("golden").get(patient_id=patient["id"]).golden.fhir_id


@pytest.fixture
def li_ming_at_county_b(county_b) -> dict:
    """The same person as county A's patient, as county B's system sent him (indexed, as sync and intake do)."""
    patient = store(patient_resource(1, mrn_system="urn:site:county-b:mrn"), owner="county-b")
    patients_index(site="county-b", patients=[patient])
    return patient


@pytest.fixture
def bp_at_county_b(li_ming_at_county_b) -> dict:
    return store(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "血压"},
            "subject": {"reference": f"Patient/{li_ming_at_county_b['id']}"},
            "valueString": "150/95 mmHg",
        },
        owner="county-b",
    )


def fhir_get(client, headers, path: str):
    return client.get(f"/fhir/{path}", HTTP_ACCEPT="application/fhir+json", **headers)


@pytest.mark.parametrize(
    "system",
    ["urn:alliance:resident-id", RESIDENT_ID_SYSTEM],
    ids=["the alliance's name for the resident ID", "the resident ID's OID"],
)
def test_a_doctor_names_the_patient_by_resident_id(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request, patient_at_county_a, system
):
    body = {**chest_pain_request, "patient": f"{system}|{resident_id_of(patient_at_county_a).lower()}"}

    response = api_for(dr_li_at_county_a).post("", body)

    assert response.status_code == 201, response.content
    assert response.json()["patient"] == f"Patient/{patient_at_county_a['id']}"
    assert response.json()["person"] == golden_of(patient_at_county_a)


def test_a_doctor_names_the_patient_by_the_sites_record_number(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request, patient_at_county_a
):
    body = {**chest_pain_request, "patient": "urn:site:county-a:mrn|MRN000001"}

    response = api_for(dr_li_at_county_a).post("", body)

    assert response.status_code == 201, response.content
    assert response.json()["patient"] == f"Patient/{patient_at_county_a['id']}"


def test_a_county_b_doctor_cannot_name_county_as_patient_by_resident_id(
    api_for, dr_zhao_at_county_b, cardiologist_zhang, chest_pain_request, patient_at_county_a
):
    body = {**chest_pain_request, "patient": f"urn:alliance:resident-id|{resident_id_of(patient_at_county_a)}"}

    response = api_for(dr_zhao_at_county_b).post("", {**body, "attachments": []})

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "No such patient at your site."}


def test_naming_by_resident_id_finds_the_doctors_own_sites_record_of_a_person_known_at_two_sites(
    api_for, dr_zhao_at_county_b, cardiologist_zhang, chest_pain_request, patient_at_county_a, li_ming_at_county_b
):
    patients_index(site="county-a", patients=[patient_at_county_a])
    body = {**chest_pain_request, "patient": f"urn:alliance:resident-id|{resident_id_of(li_ming_at_county_b)}"}

    response = api_for(dr_zhao_at_county_b).post("", {**body, "attachments": []})

    assert response.status_code == 201, response.content
    assert response.json()["patient"] == f"Patient/{li_ming_at_county_b['id']}"
    assert response.json()["person"] == golden_of(li_ming_at_county_b) == golden_of(patient_at_county_a)


def test_an_identifier_two_of_the_sites_patients_carry_is_refused_as_ambiguous(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request, patient_at_county_a
):
    other = {**patient_resource(3), "identifier": patient_at_county_a["identifier"][1:]}  # the same record number
    store(other, owner="county-a")

    response = api_for(dr_li_at_county_a).post("", {**chest_pain_request, "patient": "urn:site:county-a:mrn|x"})
    assert response.status_code == 404
    response = api_for(dr_li_at_county_a).post("", {**chest_pain_request, "patient": "urn:site:county-a:mrn|MRN000001"})
    assert response.status_code == 400
    assert response.json()["error"] == "ambiguous_patient"


def test_a_patient_the_index_did_not_know_is_indexed_on_the_spot(
    api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request, patient_at_county_a
):
    assert not MpiRecord.objects.filter(patient_id=patient_at_county_a["id"]).exists()

    created = api_for(dr_li_at_county_a).post("", chest_pain_request).json()

    record = MpiRecord.objects.get(patient_id=patient_at_county_a["id"])
    assert record.site_code == "county-a"
    assert created["person"] == record.golden.fhir_id
    detail = api_for(cardiologist_zhang).get(f"{created['id']}").json()
    assert detail["person"] == record.golden.fhir_id and detail["linked_patients"] == []


def test_the_request_records_the_person_on_its_service_request_and_task(
    api_for, client, token_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request, patient_at_county_a
):
    created = api_for(dr_li_at_county_a).post("", chest_pain_request).json()
    li = token_for(dr_li_at_county_a)

    for reference, subject in ((created["fhir"]["service_request"], "subject"), (created["fhir"]["task"], "for")):
        resource = fhir_get(client, li, reference).json()
        assert resource[subject]["reference"] == f"Patient/{patient_at_county_a['id']}", reference
        assert resource["extension"] == [
            {"url": PERSON_EXTENSION_URL, "valueIdentifier": {"system": PERSON_ID_SYSTEM, "value": created["person"]}}
        ], reference

    api_for(cardiologist_zhang).post(f"{created['id']}/accept")  # the Task is rewritten: the person stays
    task = fhir_get(client, li, created["fhir"]["task"]).json()
    assert task["status"] == "accepted" and task["extension"][0]["valueIdentifier"]["value"] == created["person"]


def test_the_specialist_sees_the_persons_patient_at_another_site_and_reads_their_records(
    api_for, client, token_for, dr_li_at_county_a, cardiologist_zhang, neurologist_zhou, chest_pain_request,
    patient_at_county_a, li_ming_at_county_b, bp_at_county_b,
):  # fmt: skip
    created = api_for(dr_li_at_county_a).post("", chest_pain_request).json()

    detail = api_for(cardiologist_zhang).get(f"{created['id']}").json()

    assert detail["person"] == GoldenRecord.objects.get(records__patient_id=li_ming_at_county_b["id"]).fhir_id
    county_b_patient = f"Patient/{li_ming_at_county_b['id']}"
    assert detail["linked_patients"] == [{"site": "county-b", "patient": county_b_patient}]
    zhang, zhou, li = token_for(cardiologist_zhang), token_for(neurologist_zhou), token_for(dr_li_at_county_a)
    for path in (county_b_patient, f"Observation/{bp_at_county_b['id']}"):
        assert fhir_get(client, zhang, path).status_code == 200, path
        assert fhir_get(client, zhou, path).status_code == 404, path  # the request did not reach him
        assert fhir_get(client, li, path).status_code == 404, path  # county sites stay walled off


def test_a_link_undone_in_the_index_is_no_longer_shared(
    api_for, client, token_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request,
    patient_at_county_a, li_ming_at_county_b,
):  # fmt: skip
    from federation.identity.services import patient_unlink

    created = api_for(dr_li_at_county_a).post("", chest_pain_request).json()
    patient_unlink(patient_id=li_ming_at_county_b["id"], actor="admin_b", reason="not the same person")

    detail = api_for(cardiologist_zhang).get(f"{created['id']}").json()

    assert detail["linked_patients"] == []
    assert detail["person"] == created["person"]  # what the request recorded when it was made
    assert fhir_get(client, token_for(cardiologist_zhang), f"Patient/{li_ming_at_county_b['id']}").status_code == 404


def test_bad_patient_names_get_a_clear_400(api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request):
    li = api_for(dr_li_at_county_a)

    for name in ("not a reference", "Observation/1", "urn:alliance:resident-id|", "|123", "a|b|c"):
        response = li.post("", {**chest_pain_request, "patient": name})
        assert response.status_code == 400, name
        assert response.json()["error"] in ("invalid_patient", "invalid"), name
