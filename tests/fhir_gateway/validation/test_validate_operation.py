"""``$validate`` at type and instance level: errors, warnings and information, the modes, the request's
language, and profiles the hub stores (http://hl7.org/fhir/R4/resource-operation-validate.html)."""

from __future__ import annotations

import pytest

from fhir_gateway import services
from fhir_gateway.models import Resource
from fhir_gateway.validation.messages import MESSAGE_ID
from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db
PROFILE = "http://alliance.example/fhir/StructureDefinition/alliance-patient"
MARITAL = "http://alliance.example/fhir/ValueSet/marital"
V3_MARITAL = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"


def rules(outcome: dict, severity: str | None = None) -> set[tuple[str, str | None]]:
    return {
        (next(e["valueString"] for e in i["extension"] if e["url"] == MESSAGE_ID), (i.get("expression") or [None])[0])
        for i in outcome["issue"]
        if (severity is None or i["severity"] == severity) and i.get("extension")
    }


def test_a_valid_resource_gives_200_and_no_error(fhir):
    response = fhir.post("/fhir/Patient/$validate", patient())
    assert response.status_code == 200
    assert not rules(response.json(), "error")
    assert ("dom-6", "Patient") in rules(response.json(), "warning")  # best practice: a narrative


def test_an_invalid_resource_gives_400_with_each_error_located(fhir):
    body = {**patient(), "gender": "x", "contact": [{}], "birthDate": "1968-02-30"}
    response = fhir.post("/fhir/Patient/$validate", body)
    assert response.status_code == 400
    assert rules(response.json(), "error") == {
        ("binding-required", "Patient.gender"),
        ("ele-1", "Patient.contact[0]"),
        ("pat-1", "Patient.contact[0]"),
        ("primitive", "Patient.birthDate"),
    }
    assert not Resource.objects.exists()


def test_an_extensible_binding_warns_in_validate_and_never_refuses_a_write(fhir):
    body = {**patient(), "identifier": [{"type": {"coding": [{"system": "urn:x", "code": "SS"}]}, "value": "1"}]}
    response = fhir.post("/fhir/Patient/$validate", body)
    assert response.status_code == 200
    assert ("binding-soft", "Patient.identifier[0].type") in rules(response.json(), "warning")
    assert fhir.post("/fhir/Patient", body).status_code == 201


def test_what_needs_a_terminology_server_or_resolution_is_reported_as_not_checked(fhir):
    care_team = {
        "resourceType": "CareTeam",
        "participant": [{"member": {"reference": "Practitioner/1"}, "onBehalfOf": {"reference": "Organization/1"}}],
    }
    response = fhir.post("/fhir/CareTeam/$validate", care_team)
    assert response.status_code == 200
    assert ("ctm-1", "CareTeam.participant[0]") not in rules(response.json(), "error")
    assert ("invariant-not-checked", "CareTeam.participant[0]") in rules(response.json(), "information")
    document = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": {"contentType": "text/plain", "data": "aGk="}}],
    }
    notes = rules(fhir.post("/fhir/DocumentReference/$validate", document).json(), "information")
    assert ("binding-not-checked", "DocumentReference.content[0].attachment.contentType") in notes  # BCP 13


def test_the_modes_create_update_and_delete(fhir):
    fhir_id = fhir.post("/fhir/Patient", patient()).json()["id"]
    assert fhir.post("/fhir/Patient/$validate?mode=create", patient()).status_code == 200
    update = fhir.post(f"/fhir/Patient/{fhir_id}/$validate?mode=update", {**patient(), "id": fhir_id})
    assert update.status_code == 200
    assert fhir.post(f"/fhir/Patient/{fhir_id}/$validate?mode=update", patient()).status_code == 400  # no id
    assert fhir.post(f"/fhir/Patient/{fhir_id}/$validate?mode=update", {**patient(), "id": "x"}).status_code == 400
    delete = fhir.post(f"/fhir/Patient/{fhir_id}/$validate?mode=delete", patient())
    assert delete.status_code == 200 and ("mode-delete", None) in rules(delete.json(), "information")
    assert fhir.post("/fhir/Patient/absent/$validate?mode=delete", patient()).status_code == 404
    assert fhir.post("/fhir/Patient/$validate?mode=merge", patient()).status_code == 400
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": {**patient(), "id": "x"}},
            {"name": "mode", "valueCode": "update"},
        ],
    }
    assert fhir.post(f"/fhir/Patient/{fhir_id}/$validate", parameters).status_code == 400


def test_get_at_instance_level_validates_the_stored_resource(fhir):
    fhir_id = fhir.post("/fhir/Patient", patient()).json()["id"]
    response = fhir.get(f"/fhir/Patient/{fhir_id}/$validate")
    assert response.status_code == 200 and not rules(response.json(), "error")
    assert fhir.get("/fhir/Patient/absent/$validate").status_code == 404


def test_issues_come_in_the_requests_language(fhir):
    body = {**patient(), "gender": "x"}
    english = fhir.post("/fhir/Patient/$validate", body, **{"Accept-Language": "en"}).json()["issue"][0]
    chinese = fhir.post("/fhir/Patient/$validate", body, **{"Accept-Language": "zh-hans"}).json()["issue"][0]
    assert english["details"]["text"].startswith("x is not in the value set")
    assert "不在值集" in chinese["details"]["text"]
    assert english["expression"] == chinese["expression"] == ["Patient.gender"]
    english = fhir.post(
        "/fhir/Patient/$validate", {**patient(), "contact": [{"gender": "male"}]}, **{"Accept-Language": "en"}
    )
    assert "SHALL at least contain a contact's details" in english.json()["issue"][0]["details"]["text"]
    chinese = fhir.post(
        "/fhir/Patient/$validate", {**patient(), "contact": [{"gender": "male"}]}, **{"Accept-Language": "zh-hans"}
    )
    assert "至少要有联系人的信息" in chinese.json()["issue"][0]["details"]["text"]


def _element(path: str, minimum: int, maximum: str, **extra) -> dict:
    return {
        "id": path,
        "path": path,
        "definition": f"{path} in the alliance's patient profile",
        "min": minimum,
        "max": maximum,
        "base": {"path": path, "min": 0, "max": "*" if path.count(".") == 0 or maximum == "*" else "1"},
        **extra,
    }


@pytest.fixture
def alliance_profile(workflow_at_county_a):
    value_set = {
        "resourceType": "ValueSet",
        "url": MARITAL,
        "status": "active",
        "compose": {"include": [{"system": V3_MARITAL, "concept": [{"code": "M"}, {"code": "S"}]}]},
    }
    services.resource_create(resource=value_set, actor=workflow_at_county_a)
    profile = {
        "resourceType": "StructureDefinition",
        "url": PROFILE,
        "name": "AlliancePatient",
        "status": "active",
        "kind": "resource",
        "abstract": False,
        "type": "Patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "derivation": "constraint",
        "snapshot": {
            "element": [
                _element(
                    "Patient",
                    0,
                    "*",
                    constraint=[
                        {
                            "key": "alliance-1",
                            "severity": "error",
                            "human": "A patient of the alliance has a family name",
                            "expression": "name.family.exists()",
                            "source": PROFILE,
                        }
                    ],
                ),
                _element("Patient.identifier", 1, "*", type=[{"code": "Identifier"}]),
                _element(
                    "Patient.identifier.system",
                    0,
                    "1",
                    type=[{"code": "uri"}],
                    patternUri="urn:alliance:site:county-a:mrn",
                ),
                _element("Patient.gender", 1, "1", type=[{"code": "code"}], fixedCode="female"),
                _element(
                    "Patient.maritalStatus",
                    0,
                    "1",
                    type=[{"code": "CodeableConcept"}],
                    binding={"strength": "required", "valueSet": MARITAL},
                ),
                _element("Patient.deceased[x]", 0, "0", type=[{"code": "boolean"}, {"code": "dateTime"}]),
            ]
        },
    }
    assert services.resource_create(resource=profile, actor=workflow_at_county_a).status == 201
    return profile


def test_a_profile_the_hub_stores_checks_cardinality_fixed_values_patterns_bindings_and_its_invariants(
    fhir, alliance_profile
):
    conforming = {**patient(), "maritalStatus": {"coding": [{"system": V3_MARITAL, "code": "M"}]}}
    ok = fhir.post(f"/fhir/Patient/$validate?profile={PROFILE}", conforming)
    assert ok.status_code == 200, ok.content
    broken = {
        "resourceType": "Patient",
        "name": [{"given": ["芳"]}],
        "gender": "male",
        "identifier": [{"system": "urn:other", "value": "1"}],
        "maritalStatus": {"coding": [{"system": V3_MARITAL, "code": "D"}]},
        "deceasedBoolean": False,
    }
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": broken}, {"name": "profile", "valueUri": PROFILE}],
    }
    response = fhir.post("/fhir/Patient/$validate", parameters)
    assert response.status_code == 400
    assert rules(response.json(), "error") == {
        ("alliance-1", "Patient"),
        ("profile-pattern", "Patient.identifier.system"),
        ("profile-fixed", "Patient.gender"),
        ("binding-required", "Patient.maritalStatus"),
        ("prohibited", "Patient.deceasedBoolean"),
    }
    missing = fhir.post(
        f"/fhir/Patient/$validate?profile={PROFILE}", {"resourceType": "Patient", "name": [{"family": "王"}]}
    )
    assert ("missing", "Patient.identifier") in rules(missing.json(), "error")
    assert ("missing", "Patient.gender") in rules(missing.json(), "error")


def test_an_unknown_profile_is_an_error(fhir):
    response = fhir.post("/fhir/Patient/$validate?profile=http://nowhere.example/StructureDefinition/x", patient())
    assert response.status_code == 400
    assert ("profile-unknown", None) in rules(response.json(), "error")
