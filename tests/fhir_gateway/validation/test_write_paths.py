"""One validator on every write: create, update, JSON/FHIRPath/merge patch, transaction and batch refuse the
same invalid resources with the same issues (the federation's push and pull:
tests/federation/sync/test_ingest_validation.py)."""

from __future__ import annotations

import pytest

from fhir_gateway.models import Resource
from fhir_gateway.validation.messages import MESSAGE_ID
from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db

SCRIPT = '<div xmlns="http://www.w3.org/1999/xhtml"><p>王芳</p><script>alert(document.cookie)</script></div>'
# One invalid Patient per rule class, with the rule and location each must be refused for.
INVALID = {
    "binding": ({"gender": "x"}, ("binding-required", "Patient.gender")),
    "invariant": ({"contact": [{"relationship": [{"text": "丈夫"}]}]}, ("pat-1", "Patient.contact[0]")),
    "narrative": ({"text": {"status": "generated", "div": SCRIPT}}, ("narrative-element", "Patient.text.div")),
    "primitive": ({"birthDate": "1968-02-30"}, ("primitive", "Patient.birthDate")),
    "structure": ({"nickname": "芳"}, ("unknown-element", "Patient.nickname")),
}


def rules(outcome: dict) -> set[tuple[str, str]]:
    return {
        (next(e["valueString"] for e in i["extension"] if e["url"] == MESSAGE_ID), i["expression"][0])
        for i in outcome["issue"]
        if i["severity"] == "error" and i.get("extension")
    }


@pytest.fixture
def stored(fhir) -> str:
    return fhir.post("/fhir/Patient", patient()).json()["id"]


@pytest.mark.parametrize("kind", sorted(INVALID))
def test_create_refuses_it(fhir, kind):
    change, rule = INVALID[kind]
    response = fhir.post("/fhir/Patient", {**patient(), **change})
    assert response.status_code == 400
    assert rule in rules(response.json())
    assert not Resource.objects.exists()


@pytest.mark.parametrize("kind", sorted(INVALID))
def test_update_refuses_it(fhir, stored, kind):
    change, rule = INVALID[kind]
    response = fhir.put(f"/fhir/Patient/{stored}", {**patient(), **change, "id": stored})
    assert response.status_code == 400
    assert rule in rules(response.json())
    assert Resource.objects.get(fhir_id=stored).version_id == 1


@pytest.mark.parametrize("kind", sorted(INVALID))
def test_json_patch_merge_patch_and_fhirpath_patch_refuse_it(fhir, stored, kind):
    change, rule = INVALID[kind]
    (name, value) = next(iter(change.items()))
    json_patch = [{"op": "add", "path": f"/{name}", "value": value}]
    merge_patch = {name: value}
    if name in patient():  # replace what is there, add what is not
        parts = [{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": f"Patient.{name}"}]
    else:
        parts = [
            {"name": "type", "valueCode": "add"},
            {"name": "path", "valueString": "Patient"},
            {"name": "name", "valueString": name},
        ]
    fhirpath_patch = {
        "resourceType": "Parameters",
        "parameter": [{"name": "operation", "part": [*parts, _value_part(value)]}],
    }
    for body, content_type in [
        (json_patch, "application/json-patch+json"),
        (merge_patch, "application/merge-patch+json"),
        (fhirpath_patch, "application/fhir+json"),
    ]:
        response = fhir.patch(f"/fhir/Patient/{stored}", body, content_type=content_type)
        assert response.status_code == 400, (content_type, response.content)
        assert rule in rules(response.json()), content_type
    assert Resource.objects.get(fhir_id=stored).version_id == 1


def _value_part(value) -> dict:
    if isinstance(value, str):
        return {"name": "value", "valueString": value}
    if isinstance(value, list):  # contact: one backbone element, as parts
        return {"name": "value", "part": [{"name": "relationship", "valueCodeableConcept": {"text": "丈夫"}}]}
    return {"name": "value", "valueNarrative": value}


@pytest.mark.parametrize("kind", sorted(INVALID))
def test_a_transaction_with_one_invalid_entry_is_refused_whole(fhir, kind):
    change, (rule, where) = INVALID[kind]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient(mrn="T1"), "request": {"method": "POST", "url": "Patient"}},
            {"resource": {**patient(mrn="T2"), **change}, "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    response = fhir.post("/fhir/", bundle)
    assert response.status_code == 400
    issues = response.json()["issue"]
    assert any(i["diagnostics"].startswith("Bundle.entry[1]") for i in issues)
    assert (rule, where) in rules(response.json())
    assert not Resource.objects.exists()


@pytest.mark.parametrize("kind", sorted(INVALID))
def test_a_batch_reports_the_invalid_entry_with_its_index_and_stores_the_rest(fhir, kind):
    change, rule = INVALID[kind]
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": patient(mrn="B1"), "request": {"method": "POST", "url": "Patient"}},
            {"resource": {**patient(mrn="B2"), **change}, "request": {"method": "POST", "url": "Patient"}},
            {"resource": patient(mrn="B3"), "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    response = fhir.post("/fhir/", bundle)
    assert response.status_code == 200
    entries = response.json()["entry"]
    assert [e["response"]["status"][:3] for e in entries] == ["201", "400", "201"]
    outcome = entries[1]["response"]["outcome"]
    assert rule in rules(outcome)
    assert all(i["diagnostics"].startswith("Bundle.entry[1]") for i in outcome["issue"])
    assert Resource.objects.count() == 2


def test_a_batch_entry_with_a_bad_request_method_fails_alone(fhir):
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "FETCH", "url": "Patient"}},
            {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    entries = fhir.post("/fhir/", bundle).json()["entry"]
    assert [e["response"]["status"][:3] for e in entries] == ["400", "201"]
    assert ("binding-required", "Bundle.entry[0].request.method") in rules(entries[0]["response"]["outcome"])


def test_a_bundle_with_two_entries_of_one_full_url_is_refused(fhir):
    url = "urn:uuid:5b0f6e9e-0000-4000-8000-000000000001"
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"fullUrl": url, "resource": patient(mrn="D1"), "request": {"method": "POST", "url": "Patient"}},
            {"fullUrl": url, "resource": patient(mrn="D2"), "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    response = fhir.post("/fhir/", bundle)
    assert response.status_code == 400
    assert ("bdl-7", "Bundle") in rules(response.json())
    assert not Resource.objects.exists()


def test_a_document_bundle_is_stored_only_when_its_references_resolve_inside_it(fhir):
    composition = {
        "resourceType": "Composition",
        "id": "c",
        "status": "final",
        "type": {"text": "出院小结"},
        "date": "2026-03-01",
        "subject": {"reference": "Patient/p"},
        "author": [{"reference": "Practitioner/dr"}],
        "title": "出院小结",
    }
    document = {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:5b0f6e9e-0000-4000-8000-000000000009"},
        "timestamp": "2026-03-01T10:00:00+08:00",
        "entry": [
            {"fullUrl": "http://hub.example/fhir/Composition/c", "resource": composition},
            {"fullUrl": "http://hub.example/fhir/Patient/p", "resource": {**patient(), "id": "p"}},
        ],
    }
    refused = fhir.post("/fhir/Bundle", document)
    assert refused.status_code == 400
    assert ("document-reference", "Bundle.entry[0].resource.author[0]") in rules(refused.json())
    practitioner = {"resourceType": "Practitioner", "id": "dr", "name": [{"family": "张"}]}
    document["entry"].append({"fullUrl": "http://hub.example/fhir/Practitioner/dr", "resource": practitioner})
    assert fhir.post("/fhir/Bundle", document).status_code == 201
