"""FHIRPath Patch (http://hl7.org/fhir/R4/fhirpatch.html): add, insert, delete, replace and move, by REST and in a
transaction; the result is validated; a failed operation changes nothing."""

from __future__ import annotations

import pytest

from fhir_gateway.models import Resource
from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db
FHIR = "application/fhir+json"


def operation(kind: str, path: str, **parts) -> dict:
    part = [{"name": "type", "valueCode": kind}, {"name": "path", "valueString": path}]
    for name, value in parts.items():
        part.append({"name": name, **value} if isinstance(value, dict) else {"name": name, "valueInteger": value})
    return {"name": "operation", "part": part}


def fhirpath_patch(*operations) -> dict:
    return {"resourceType": "Parameters", "parameter": list(operations)}


@pytest.fixture
def stored(fhir) -> str:
    body = {
        **patient(),
        "identifier": [
            {"system": "urn:alliance:site:county-a:mrn", "value": "A001"},
            {"system": "urn:alliance:resident-id", "value": "110101196803020021"},
        ],
        "telecom": [{"system": "phone", "value": "13800000001"}],
    }
    return fhir.post("/fhir/Patient", body).json()["id"]


def current(fhir_id: str) -> dict:
    return Resource.objects.get(fhir_id=fhir_id).content


def test_every_operation_type(fhir, stored):
    body = fhirpath_patch(
        operation("replace", "Patient.gender", value={"valueCode": "male"}),
        operation("add", "Patient", name={"valueString": "deceased"}, value={"valueBoolean": False}),
        operation(
            "add",
            "Patient",
            name={"valueString": "telecom"},
            value={"valueContactPoint": {"system": "email", "value": "w@x.org"}},
        ),
        operation("insert", "Patient.name", index=0, value={"valueHumanName": {"family": "Wang", "use": "official"}}),
        operation("delete", "Patient.identifier.where(system = 'urn:alliance:resident-id')"),
        operation("move", "Patient.name", source=1, destination=0),
        operation(
            "add",
            "Patient",
            name={"valueString": "contact"},
            value={
                "part": [{"name": "name", "valueHumanName": {"family": "李"}}, {"name": "gender", "valueCode": "male"}]
            },
        ),
    )
    response = fhir.patch(f"/fhir/Patient/{stored}", body, content_type=FHIR)
    assert response.status_code == 200, response.content
    result = current(stored)
    assert result["gender"] == "male" and result["deceasedBoolean"] is False
    assert [t["system"] for t in result["telecom"]] == ["phone", "email"]
    assert [n["family"] for n in result["name"]] == ["王", "Wang"]
    assert [i["system"] for i in result["identifier"]] == ["urn:alliance:site:county-a:mrn"]
    assert result["contact"] == [{"name": {"family": "李"}, "gender": "male"}]
    assert result["meta"]["versionId"] == "2"


def test_a_patch_that_makes_the_resource_invalid_is_refused(fhir, stored):
    response = fhir.patch(
        f"/fhir/Patient/{stored}",
        fhirpath_patch(operation("replace", "Patient.gender", value={"valueCode": "x"})),
        content_type=FHIR,
    )
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Patient.gender"]
    assert current(stored)["meta"]["versionId"] == "1"


@pytest.mark.parametrize(
    ("op", "status"),
    [
        (operation("replace", "Patient.address", value={"valueString": "x"}), 422),  # matches nothing
        (operation("delete", "Patient.identifier"), 422),  # matches two
        (operation("insert", "Patient.name", index=5, value={"valueHumanName": {"family": "x"}}), 422),
        (
            operation("add", "Patient", name={"valueString": "gender"}, value={"valueCode": "male"}),
            422,
        ),  # already there
        (operation("replace", "Patient.name.resolve()", value={"valueString": "x"}), 422),  # not a path
        (operation("explode", "Patient.name"), 422),
        ({"name": "not-an-operation"}, 422),
    ],
)
def test_a_failing_operation_changes_nothing(fhir, stored, op, status):
    body = fhirpath_patch(operation("replace", "Patient.gender", value={"valueCode": "male"}), op)
    response = fhir.patch(f"/fhir/Patient/{stored}", body, content_type=FHIR)
    assert response.status_code == status, response.content
    assert response.json()["resourceType"] == "OperationOutcome"
    assert current(stored)["gender"] == "female"


def test_a_fhirpath_patch_inside_a_transaction(fhir, stored):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": fhirpath_patch(operation("replace", "Patient.gender", value={"valueCode": "other"})),
                "request": {"method": "PATCH", "url": f"Patient/{stored}"},
            }
        ],
    }
    response = fhir.post("/fhir/", bundle)
    assert response.status_code == 200, response.content
    assert current(stored)["gender"] == "other"
