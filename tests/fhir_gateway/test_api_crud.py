"""Create, read, vread, update, patch and delete over HTTP (http://hl7.org/fhir/R4/http.html)."""

from __future__ import annotations

import pytest

from fhir_gateway.models import Resource
from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db


def _created(fhir, body=None):
    response = fhir.post("/fhir/Patient", body or patient())
    assert response.status_code == 201, response.content
    return response


def test_create_answers_201_with_location_etag_and_the_stored_resource(fhir):
    response = _created(fhir)

    body = response.json()
    assert response["Content-Type"].startswith("application/fhir+json")
    assert response["ETag"] == 'W/"1"'
    assert response["Location"] == f"http://testserver/fhir/Patient/{body['id']}/_history/1"
    assert response["Last-Modified"].endswith("GMT")
    assert body["meta"]["versionId"] == "1" and body["meta"]["lastUpdated"].endswith("Z")
    assert Resource.objects.get(fhir_id=body["id"]).owner == "county-a"


def test_the_client_id_of_a_create_is_replaced(fhir):
    body = _created(fhir, {**patient(), "id": "mine"}).json()
    assert body["id"] != "mine"


def test_read_and_vread_serve_the_stored_json_with_headers(fhir):
    fhir_id = _created(fhir).json()["id"]

    read = fhir.get(f"/fhir/Patient/{fhir_id}")
    assert read.status_code == 200 and read["ETag"] == 'W/"1"' and "Last-Modified" in read
    assert read.json()["name"][0]["family"] == "王"
    vread = fhir.get(f"/fhir/Patient/{fhir_id}/_history/1")
    assert vread.status_code == 200 and vread.json()["id"] == fhir_id
    assert fhir.get(f"/fhir/Patient/{fhir_id}/_history/9").status_code == 404
    assert fhir.get(f"/fhir/Patient/{fhir_id}/_history/x").status_code == 404


def test_pretty_summary_and_elements(fhir):
    fhir_id = _created(fhir).json()["id"]
    pretty = fhir.get(f"/fhir/Patient/{fhir_id}?_pretty=true")
    assert b'\n  "' in pretty.content
    subset = fhir.get(f"/fhir/Patient/{fhir_id}?_elements=gender").json()
    assert "gender" in subset and "name" not in subset
    assert subset["meta"]["tag"][-1]["code"] == "SUBSETTED"
    summary = fhir.get(f"/fhir/Patient/{fhir_id}?_summary=true").json()
    assert "name" in summary and "birthDate" in summary and summary["meta"]["tag"][-1]["code"] == "SUBSETTED"


def test_update_bumps_the_version_and_if_match_guards_it(fhir):
    fhir_id = _created(fhir).json()["id"]
    body = {**patient(given="芳芳"), "id": fhir_id}

    updated = fhir.put(f"/fhir/Patient/{fhir_id}", body, if_match='W/"1"')
    assert updated.status_code == 200 and updated["ETag"] == 'W/"2"'
    stale = fhir.put(f"/fhir/Patient/{fhir_id}", body, if_match='W/"1"')
    assert stale.status_code == 412 and stale.json()["resourceType"] == "OperationOutcome"
    assert fhir.get(f"/fhir/Patient/{fhir_id}").json()["meta"]["versionId"] == "2"


def test_update_as_create_with_a_client_id(fhir):
    response = fhir.put("/fhir/Patient/county-a-pat-1", {**patient(), "id": "county-a-pat-1"})
    assert response.status_code == 201 and response["Location"].endswith("/fhir/Patient/county-a-pat-1/_history/1")


def test_prefer_return(fhir):
    minimal = fhir.post("/fhir/Patient", patient(), prefer="return=minimal")
    assert minimal.status_code == 201 and minimal.content == b"" and minimal["Location"]
    outcome = fhir.post("/fhir/Patient", patient(), prefer="return=OperationOutcome")
    assert outcome.json()["resourceType"] == "OperationOutcome"


def test_patch_with_json_patch(fhir):
    fhir_id = _created(fhir).json()["id"]
    operations = [
        {"op": "replace", "path": "/gender", "value": "male"},
        {"op": "add", "path": "/active", "value": True},
    ]

    response = fhir.patch(f"/fhir/Patient/{fhir_id}", operations, if_match='W/"1"')
    assert response.status_code == 200, response.content
    assert response.json()["gender"] == "male" and response.json()["active"] is True
    assert response["ETag"] == 'W/"2"'

    invalid = fhir.patch(f"/fhir/Patient/{fhir_id}", [{"op": "replace", "path": "/birthDate", "value": "1999-99-99"}])
    assert invalid.status_code == 400
    failed_test = fhir.patch(f"/fhir/Patient/{fhir_id}", [{"op": "test", "path": "/gender", "value": "female"}])
    assert failed_test.status_code == 422
    renamed = fhir.patch(f"/fhir/Patient/{fhir_id}", [{"op": "replace", "path": "/id", "value": "other"}])
    assert renamed.status_code == 422
    assert fhir.get(f"/fhir/Patient/{fhir_id}").json()["meta"]["versionId"] == "2"


def test_delete_then_read_is_gone_and_history_shows_the_deletion(fhir):
    fhir_id = _created(fhir).json()["id"]

    deleted = fhir.delete(f"/fhir/Patient/{fhir_id}")
    assert deleted.status_code == 204 and deleted["ETag"] == 'W/"2"'
    gone = fhir.get(f"/fhir/Patient/{fhir_id}")
    assert gone.status_code == 410 and gone.json()["issue"][0]["code"] == "deleted"
    assert fhir.delete(f"/fhir/Patient/{fhir_id}").status_code == 204  # idempotent, no new version
    history = fhir.get(f"/fhir/Patient/{fhir_id}/_history").json()
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "POST"]
    assert "resource" not in history["entry"][0]
    revived = fhir.put(f"/fhir/Patient/{fhir_id}", {**patient(), "id": fhir_id})
    assert revived.status_code == 201 and revived["ETag"] == 'W/"3"'


def test_conditional_read(fhir):
    created = _created(fhir)
    fhir_id = created.json()["id"]

    assert fhir.get(f"/fhir/Patient/{fhir_id}", if_none_match='W/"1"').status_code == 304
    assert fhir.get(f"/fhir/Patient/{fhir_id}", if_none_match='W/"0"').status_code == 200
    assert fhir.get(f"/fhir/Patient/{fhir_id}", if_modified_since=created["Last-Modified"]).status_code == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert fhir.get(f"/fhir/Patient/{fhir_id}", if_modified_since=old).status_code == 200


def test_conditional_create_update_and_delete(fhir):
    criteria = "identifier=urn:alliance:site:county-a:mrn|A001"
    first = fhir.post("/fhir/Patient", patient(), if_none_exist=criteria)
    again = fhir.post("/fhir/Patient", patient(), if_none_exist=criteria)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]

    updated = fhir.put(f"/fhir/Patient?{criteria}", patient(given="芳芳"))
    assert updated.status_code == 200 and updated.json()["id"] == first.json()["id"]
    created = fhir.put("/fhir/Patient?identifier=urn:alliance:site:county-a:mrn|A002", patient(mrn="A002"))
    assert created.status_code == 201

    fhir.post("/fhir/Patient", patient(mrn="A001"))  # a second A001 makes the criteria ambiguous
    assert fhir.post("/fhir/Patient", patient(), if_none_exist=criteria).status_code == 412
    assert fhir.put(f"/fhir/Patient?{criteria}", patient()).status_code == 412
    assert fhir.delete(f"/fhir/Patient?{criteria}").status_code == 412
    assert fhir.delete("/fhir/Patient?identifier=urn:alliance:site:county-a:mrn|A002").status_code == 204
    assert fhir.delete("/fhir/Patient?identifier=nobody").status_code == 204
    assert Resource.objects.filter(deleted=False).count() == 2


def test_another_sites_doctor_cannot_read_or_change_the_record_nor_learn_it_exists(fhir, fhir_county_b):
    fhir_id = _created(fhir).json()["id"]
    missing = fhir_county_b.get("/fhir/Patient/no-such-patient")
    read = fhir_county_b.get(f"/fhir/Patient/{fhir_id}")
    assert (read.status_code, missing.status_code) == (404, 404)
    # A delete of a record one may not see is a delete of nothing, exactly as for one that does not exist.
    assert fhir_county_b.delete(f"/fhir/Patient/{fhir_id}").status_code == 204
    assert fhir_county_b.delete("/fhir/Patient/no-such-patient").status_code == 204
    assert fhir.get(f"/fhir/Patient/{fhir_id}").json()["meta"]["versionId"] == "1"


def test_merge_patch(fhir):
    fhir_id = _created(fhir).json()["id"]
    response = fhir.patch(
        f"/fhir/Patient/{fhir_id}", {"gender": "male", "birthDate": None}, content_type="application/merge-patch+json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["gender"] == "male" and "birthDate" not in response.json()


def test_an_update_that_changes_nothing_keeps_the_current_version(fhir):
    created = _created(fhir).json()
    fhir_id = created["id"]
    again = fhir.put(f"/fhir/Patient/{fhir_id}", {**patient(), "id": fhir_id})
    assert again.status_code == 200 and again["ETag"] == 'W/"1"'
    assert again.json()["meta"]["lastUpdated"] == created["meta"]["lastUpdated"]
    no_op_patch = fhir.patch(f"/fhir/Patient/{fhir_id}", [{"op": "replace", "path": "/gender", "value": "female"}])
    assert no_op_patch.status_code == 200 and no_op_patch["ETag"] == 'W/"1"'
    assert fhir.get(f"/fhir/Patient/{fhir_id}/_history").json()["total"] == 1
    changed = fhir.put(f"/fhir/Patient/{fhir_id}", {**patient(given="新"), "id": fhir_id})
    assert changed["ETag"] == 'W/"2"'
