"""The CapabilityStatement and $validate."""

from __future__ import annotations

import pytest

from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db


def test_the_capability_statement_lists_what_is_implemented(client):
    statement = client.get("/fhir/metadata").json()
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch", "search-system", "history-system"}
    resources = {r["type"]: r for r in rest["resource"]}
    assert {"Patient", "Observation", "ServiceRequest", "Task", "Bundle"} <= resources.keys()
    codes = {i["code"] for i in resources["Patient"]["interaction"]}
    assert codes == {
        "read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"
    }  # fmt: skip
    assert {op["name"] for op in resources["Patient"]["operation"]} == {"validate", "everything", "match", "export"}
    assert {op["name"] for op in resources["Group"]["operation"]} == {"validate", "export"}
    assert {op["name"] for op in resources["Observation"]["operation"]} == {"validate"}
    assert [op["name"] for op in rest["operation"]] == ["export"]
    assert resources["Patient"]["conditionalDelete"] == "single"


def test_validate_at_type_level(fhir):
    ok = fhir.post("/fhir/Patient/$validate", patient())
    assert ok.status_code == 200 and {i["severity"] for i in ok.json()["issue"]} <= {"warning", "information"}
    bad = fhir.post("/fhir/Patient/$validate", {**patient(), "gender": 3, "birthDate": "x"})
    assert bad.status_code == 400
    errors = [i for i in bad.json()["issue"] if i["severity"] == "error"]
    assert {i["expression"][0] for i in errors} == {"Patient.gender", "Patient.birthDate"}
    parameters = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": patient()}]}
    assert fhir.post("/fhir/Patient/$validate", parameters).status_code == 200
    assert fhir.post("/fhir/Observation/$validate", patient()).status_code == 400


def test_validate_at_instance_level(fhir):
    fhir_id = fhir.post("/fhir/Patient", patient()).json()["id"]
    good = fhir.post(f"/fhir/Patient/{fhir_id}/$validate?mode=update", {**patient(), "id": fhir_id})
    assert good.status_code == 200
    wrong_id = fhir.post(f"/fhir/Patient/{fhir_id}/$validate?mode=update", {**patient(), "id": "other"})
    assert wrong_id.status_code == 400
    absent = fhir.post("/fhir/Patient/absent/$validate?mode=delete", patient())
    assert absent.status_code == 404
