"""Batch and transaction Bundles posted to /fhir/ (http://hl7.org/fhir/R4/http.html#transaction)."""

from __future__ import annotations

import base64

import orjson
import pytest

from fhir_gateway.models import Resource, ResourceVersion
from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db
PATIENT_URN = "urn:uuid:8c0d3a4e-0000-4000-8000-000000000001"


def observation(subject: str, text: str = "体温") -> dict:
    return {"resourceType": "Observation", "status": "final", "code": {"text": text}, "subject": {"reference": subject}}


def bundle(kind: str, *entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def test_a_transaction_stores_everything_and_rewrites_urn_uuids(fhir):
    response = fhir.post(
        "/fhir/",
        bundle(
            "transaction",
            {"fullUrl": PATIENT_URN, "resource": patient(), "request": {"method": "POST", "url": "Patient"}},
            {"resource": observation(PATIENT_URN), "request": {"method": "POST", "url": "Observation"}},
            {
                "resource": {**patient(mrn="B9"), "id": "county-a-b9"},
                "request": {"method": "PUT", "url": "Patient/county-a-b9"},
            },
        ),
    )
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["type"] == "transaction-response"
    statuses = [entry["response"]["status"] for entry in result["entry"]]
    assert statuses == ["201 Created", "201 Created", "201 Created"]
    patient_location = result["entry"][0]["response"]["location"]
    assert patient_location.startswith("Patient/") and patient_location.endswith("/_history/1")
    assert result["entry"][0]["response"]["etag"] == 'W/"1"'
    patient_id = patient_location.split("/")[1]
    stored = Resource.objects.get(resource_type="Observation").content
    assert stored["subject"]["reference"] == f"Patient/{patient_id}"
    assert Resource.objects.get(fhir_id="county-a-b9").owner == "county-a"


def test_conditional_create_and_conditional_references_inside_a_transaction(fhir):
    fhir_id = fhir.post("/fhir/Patient", patient(mrn="A7")).json()["id"]
    criteria = "identifier=urn:alliance:site:county-a:mrn|A7"
    response = fhir.post(
        "/fhir/",
        bundle(
            "transaction",
            {
                "fullUrl": PATIENT_URN,
                "resource": patient(mrn="A7"),
                "request": {"method": "POST", "url": "Patient", "ifNoneExist": criteria},
            },
            {"resource": observation(PATIENT_URN), "request": {"method": "POST", "url": "Observation"}},
            {
                "resource": observation(f"Patient?{criteria}", "脉搏"),
                "request": {"method": "POST", "url": "Observation"},
            },
        ),
    )
    assert response.status_code == 200, response.content
    assert response.json()["entry"][0]["response"]["status"] == "200 OK"
    subjects = {r.content["subject"]["reference"] for r in Resource.objects.filter(resource_type="Observation")}
    assert subjects == {f"Patient/{fhir_id}"}
    assert Resource.objects.filter(resource_type="Patient").count() == 1


def test_a_transaction_runs_delete_post_put_get_in_that_order(fhir):
    old = fhir.post("/fhir/Patient", patient(mrn="OLD")).json()["id"]
    fhir.put("/fhir/Patient/county-a-upd", {**patient(mrn="U1"), "id": "county-a-upd"})
    response = fhir.post(
        "/fhir/",
        bundle(
            "transaction",
            {"request": {"method": "GET", "url": "Patient/county-a-upd"}},
            {
                "resource": {**patient(mrn="U2"), "id": "county-a-upd"},
                "request": {"method": "PUT", "url": "Patient/county-a-upd"},
            },
            {"request": {"method": "DELETE", "url": f"Patient/{old}"}},
            {"resource": patient(mrn="NEW"), "request": {"method": "POST", "url": "Patient"}},
        ),
        prefer="return=representation",
    )
    assert response.status_code == 200, response.content
    entries = response.json()["entry"]
    # The GET runs last, so it sees the PUT's version 2 although it comes first in the Bundle.
    assert entries[0]["resource"]["meta"]["versionId"] == "2"
    assert entries[0]["resource"]["identifier"][0]["value"] == "U2"
    assert [e["response"]["status"] for e in entries] == ["200 OK", "200 OK", "204 No Content", "201 Created"]
    assert entries[3]["resource"]["identifier"][0]["value"] == "NEW"
    assert fhir.get(f"/fhir/Patient/{old}").status_code == 410


def test_a_failing_entry_rolls_the_whole_transaction_back(fhir):
    fhir.put("/fhir/Patient/county-a-p1", {**patient(), "id": "county-a-p1"})
    versions = ResourceVersion.objects.count()
    response = fhir.post(
        "/fhir/",
        bundle(
            "transaction",
            {"fullUrl": PATIENT_URN, "resource": patient(mrn="X"), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": {**patient(), "id": "county-a-p1"},
                "request": {"method": "PUT", "url": "Patient/county-a-p1", "ifMatch": 'W/"7"'},
            },
        ),
    )
    body = response.json()
    assert response.status_code == 412 and body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["expression"] == ["Bundle.entry[1]"]
    assert ResourceVersion.objects.count() == versions
    assert Resource.objects.count() == 1


def test_an_invalid_resource_in_a_transaction_names_its_entry(fhir):
    response = fhir.post(
        "/fhir/",
        bundle(
            "transaction",
            {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
            {"resource": {**patient(), "birthDate": "tomorrow"}, "request": {"method": "POST", "url": "Patient"}},
        ),
    )
    assert response.status_code == 400
    assert response.json()["issue"][0]["diagnostics"].startswith("Bundle.entry[1]")
    assert Resource.objects.count() == 0


def test_an_unresolvable_conditional_reference_fails_the_transaction(fhir):
    response = fhir.post(
        "/fhir/",
        bundle(
            "transaction",
            {"resource": observation("Patient?identifier=nobody"), "request": {"method": "POST", "url": "Observation"}},
        ),
    )
    assert response.status_code == 412
    assert Resource.objects.count() == 0


def test_a_transactions_conditional_references_resolve_together_and_each_failure_names_its_entry(fhir):
    """The Bundle's conditional references are matched in one statement; each still resolves on its own and an
    unmatched, ambiguous or malformed one fails the whole transaction naming the first entry that uses it."""
    first = fhir.post("/fhir/Patient", patient(mrn="C1")).json()["id"]
    second = fhir.post("/fhir/Patient", patient(mrn="C2")).json()["id"]
    fhir.post("/fhir/Patient", patient(mrn="TWIN"))
    fhir.post("/fhir/Patient", patient(mrn="TWIN"))
    mrn = "identifier=urn:alliance:site:county-a:mrn|"

    def post(*subjects: str):
        entries = [
            {"resource": observation(subject), "request": {"method": "POST", "url": "Observation"}}
            for subject in subjects
        ]
        return fhir.post("/fhir/", bundle("transaction", *entries))

    response = post(f"Patient?{mrn}C1", f"Patient?{mrn}C2", f"Patient?{mrn}C1")
    assert response.status_code == 200, response.content
    subjects = sorted(r.content["subject"]["reference"] for r in Resource.objects.filter(resource_type="Observation"))
    assert subjects == sorted([f"Patient/{first}", f"Patient/{second}", f"Patient/{first}"])

    for subjects, index, status, words in (
        ((f"Patient?{mrn}C1", f"Patient?{mrn}NOBODY"), 1, 412, "matches nothing"),
        ((f"Patient?{mrn}C2", f"Patient?{mrn}C1", f"Patient?{mrn}TWIN"), 2, 412, "more than one"),
        ((f"Patient?{mrn}C1", "Patient?nonsense=1"), 1, 400, ""),
        ((f"Patient?{mrn}C1", "Nothing?identifier=x"), 1, 400, "no resource type"),
    ):
        response = post(*subjects)
        assert response.status_code == status, (subjects, response.content)
        diagnostics = response.json()["issue"][0]["diagnostics"]
        assert diagnostics.startswith(f"Bundle.entry[{index}]: ") and words in diagnostics, diagnostics
    assert Resource.objects.filter(resource_type="Observation").count() == 3


def test_patch_inside_a_transaction(fhir):
    fhir.put("/fhir/Patient/county-a-p1", {**patient(), "id": "county-a-p1"})
    operations = [{"op": "replace", "path": "/gender", "value": "male"}]
    data = base64.b64encode(orjson.dumps(operations)).decode()
    response = fhir.post(
        "/fhir/",
        bundle(
            "transaction",
            {
                "resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": data},
                "request": {"method": "PATCH", "url": "Patient/county-a-p1"},
            },
        ),
    )
    assert response.status_code == 200, response.content
    assert Resource.objects.get(fhir_id="county-a-p1").content["gender"] == "male"


def test_a_batch_reports_each_entrys_own_outcome(fhir):
    response = fhir.post(
        "/fhir/",
        bundle(
            "batch",
            {"resource": patient(mrn="G1"), "request": {"method": "POST", "url": "Patient"}},
            {"resource": {**patient(), "birthDate": "never"}, "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": "Patient/absent"}},
            {"request": {"method": "FETCH", "url": "Patient"}},
        ),
    )
    assert response.status_code == 200
    entries = response.json()["entry"]
    assert response.json()["type"] == "batch-response"
    assert [e["response"]["status"][:3] for e in entries] == ["201", "400", "404", "400"]
    assert entries[1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert Resource.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Patient"},
        {"resourceType": "Bundle", "type": "collection", "entry": []},
        {"resourceType": "Bundle", "type": "transaction", "entry": {"not": "a list"}},
        {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {"resourceType": "Patient"}}]},
        {"resourceType": "Bundle", "type": "transaction", "entry": ["string"]},
        {"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "POST", "url": "Nope"}}]},
        {"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "POST", "url": "Patient"}}]},
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient/1"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Observation"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": {"resourceType": "Patient", "id": "a"}, "request": {"method": "PUT", "url": "Patient/b"}}
            ],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": {"resourceType": "Patient", "id": "a"}, "request": {"method": "PUT", "url": "Patient/a"}},
                {"request": {"method": "DELETE", "url": "Patient/a"}},
            ],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {"resourceType": "Binary", "data": "%%%"},
                    "request": {"method": "PATCH", "url": "Patient/a"},
                }
            ],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {"resourceType": "Patient"},
                    "request": {"method": "POST", "url": "Patient", "ifNoneExist": 5},
                }
            ],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {"resourceType": "Patient"},
                    "request": {"method": "POST", "url": "Patient", "ifNoneExist": "x=1"},
                }
            ],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": ["GET"], "url": "Patient"}}],
        },
        {"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "GET", "url": 7}}]},
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {**observation("?x=1")},
                    "request": {"method": "POST", "url": "Observation"},
                }
            ],
        },
    ],
)
def test_broken_bundles_get_400(fhir, body):
    response = fhir.post("/fhir/", body)
    assert response.status_code == 400, response.content
    assert response.json()["resourceType"] == "OperationOutcome"
    assert Resource.objects.count() == 0


def test_conditional_put_and_delete_and_absolute_urls_inside_a_transaction(fhir):
    fhir.put("/fhir/Patient/county-a-old", {**patient(mrn="OLD"), "id": "county-a-old"})
    full_url = "http://testserver/fhir/Patient/county-a-abs"
    response = fhir.post(
        "/fhir/",
        bundle(
            "transaction",
            {
                "resource": patient(mrn="C1"),
                "request": {"method": "PUT", "url": "Patient?identifier=urn:alliance:site:county-a:mrn|C1"},
            },
            {"request": {"method": "DELETE", "url": "Patient?identifier=urn:alliance:site:county-a:mrn|OLD"}},
            {
                "fullUrl": full_url,
                "resource": {**patient(mrn="ABS"), "id": "county-a-abs"},
                "request": {"method": "PUT", "url": "http://testserver/fhir/Patient/county-a-abs"},
            },
            {"resource": observation(full_url), "request": {"method": "POST", "url": "Observation"}},
        ),
    )
    assert response.status_code == 200, response.content
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses == ["201 Created", "204 No Content", "201 Created", "201 Created"]
    assert fhir.get("/fhir/Patient/county-a-old").status_code == 410
    stored = Resource.objects.get(resource_type="Observation").content
    assert stored["subject"]["reference"] == "Patient/county-a-abs"


def test_a_stale_if_match_in_a_batch_fails_only_its_entry(fhir):
    fhir.put("/fhir/Patient/county-a-p1", {**patient(), "id": "county-a-p1"})
    response = fhir.post(
        "/fhir/",
        bundle(
            "batch",
            {
                "resource": {**patient(given="新"), "id": "county-a-p1"},
                "request": {"method": "PUT", "url": "Patient/county-a-p1", "ifMatch": 'W/"5"'},
            },
            {
                "resource": {**patient(given="新"), "id": "county-a-p1"},
                "request": {"method": "PUT", "url": "Patient/county-a-p1", "ifMatch": "nonsense"},
            },
            {
                "resource": {**patient(mrn="B2"), "id": "county-a-p2"},
                "request": {"method": "PUT", "url": "Patient/county-a-p2"},
            },
        ),
    )
    assert [e["response"]["status"][:3] for e in response.json()["entry"]] == ["412", "412", "201"]
    assert Resource.objects.get(fhir_id="county-a-p1").version_id == 1


def test_the_base_url_without_a_slash_takes_bundles_too(fhir):
    response = fhir.post(
        "/fhir", bundle("batch", {"resource": patient(), "request": {"method": "POST", "url": "Patient"}})
    )
    assert response.status_code == 200 and response.json()["type"] == "batch-response"


def test_a_create_ignores_the_clients_id_even_a_malformed_one(fhir):
    response = fhir.post(
        "/fhir/",
        bundle(
            "transaction",
            {"resource": {**patient(), "id": "urn:uuid:not-an-id"}, "request": {"method": "POST", "url": "Patient"}},
        ),
    )
    assert response.status_code == 200, response.content
    assert fhir.post("/fhir/Patient", {**patient(), "id": "no good!"}).status_code == 201
