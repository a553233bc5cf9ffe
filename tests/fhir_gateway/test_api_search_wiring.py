"""The REST API hands searches to the search engine (its own tests cover the semantics)."""

from __future__ import annotations

import pytest

from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db


def _ids(bundle: dict) -> list[str]:
    return [
        entry["resource"]["id"] for entry in bundle.get("entry", []) if entry.get("search", {}).get("mode") != "include"
    ]


def test_type_search_by_get_and_post(fhir):
    wanted = fhir.post("/fhir/Patient", patient(mrn="S1")).json()["id"]
    fhir.post("/fhir/Patient", patient(mrn="S2"))

    found = fhir.get("/fhir/Patient?identifier=urn:alliance:site:county-a:mrn|S1")
    assert found.status_code == 200 and found.json()["type"] == "searchset"
    assert _ids(found.json()) == [wanted]
    posted = fhir.client.post(
        "/fhir/Patient/_search",
        data="identifier=urn%3Aalliance%3Asite%3Acounty-a%3Amrn%7CS1",
        content_type="application/x-www-form-urlencoded",
        **fhir.auth,
    )
    assert posted.status_code == 200 and _ids(posted.json()) == [wanted]


def test_strict_handling_refuses_unknown_parameters(fhir):
    assert fhir.get("/fhir/Patient?nonsense=1").status_code == 200
    strict = fhir.get("/fhir/Patient?nonsense=1", prefer="handling=strict")
    assert strict.status_code == 400 and strict.json()["resourceType"] == "OperationOutcome"


def test_patient_everything(fhir):
    patient_id = fhir.post("/fhir/Patient", patient()).json()["id"]
    fhir.post(
        "/fhir/Observation",
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "体温"},
            "subject": {"reference": f"Patient/{patient_id}"},
        },
    )
    everything = fhir.get(f"/fhir/Patient/{patient_id}/$everything")
    assert everything.status_code == 200
    types = {entry["resource"]["resourceType"] for entry in everything.json()["entry"]}
    assert types == {"Patient", "Observation"}
    assert fhir.get("/fhir/Patient/absent/$everything").status_code == 404


def test_a_search_inside_a_batch(fhir):
    fhir.post("/fhir/Patient", patient(mrn="S3"))
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": "Patient?identifier=S3"}}],
    }
    response = fhir.post("/fhir/", bundle).json()
    assert response["entry"][0]["response"]["status"] == "200 OK"
    assert response["entry"][0]["resource"]["type"] == "searchset"
    assert len(response["entry"][0]["resource"]["entry"]) == 1
