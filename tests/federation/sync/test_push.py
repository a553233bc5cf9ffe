"""Sites push Bundles to the hub: stamped with their source, idempotent, one copy with pull."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection

from federation.identity.models import MpiRecord
from federation.simulator.people import patient_resource, person_generate
from federation.sync.pull import site_sync_run
from federation.sync.push import bundle_intake
from fhir_gateway.context import SYSTEM, Actor
from fhir_gateway.models import Resource

FHIR = "application/fhir+json"
SYSTEM_A = Actor(kind=SYSTEM, id="client:a", site="county-a", scopes=frozenset({"system/*.*"}))


def _bundle(kind: str = "transaction") -> dict:
    person = person_generate(random.Random(11), region="411321", district="东川县")
    patient = {**patient_resource(person, mrn_system="urn:site:county-a:mrn", mrn="P77"), "id": "p77"}
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "urn:uuid:8f0c0f7e-0000-4000-8000-000000000001"},
        "valueQuantity": {"value": 88, "unit": "/min"},
    }
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "fullUrl": "urn:uuid:8f0c0f7e-0000-4000-8000-000000000001",
                "resource": patient,
                "request": {"method": "POST", "url": "Patient"},
            },
            {"resource": observation, "request": {"method": "PUT", "url": "Observation/o1"}},
        ],
    }


@pytest.mark.django_db
def test_a_pushed_bundle_is_stored_with_its_source_and_a_provenance(client, county_a, token_of):
    headers = token_of(county_a, ["system/*.read", "system/*.write"])

    response = client.post("/federation/fhir", _bundle(), content_type=FHIR, **headers)

    assert response.status_code == 200, response.content
    assert [e["response"]["status"][:3] for e in response.json()["entry"]] == ["201", "201"]
    patient = Resource.objects.get(resource_type="Patient", fhir_id="county-a-p77")
    assert patient.owner == "county-a"
    assert patient.content["meta"]["source"] == "urn:alliance:site:county-a#Patient/p77"
    observation = Resource.objects.get(resource_type="Observation", fhir_id="county-a-o1").content
    assert observation["subject"]["reference"] == "Patient/county-a-p77"
    provenance = Resource.objects.get(resource_type="Provenance")  # the hub's own, for the site
    assert provenance.owner == "county-a"
    assert {t["reference"] for t in provenance.content["target"]} == {
        "Patient/county-a-p77",
        "Observation/county-a-o1",
    }
    assert MpiRecord.objects.filter(patient_id="county-a-p77").exists()


@pytest.mark.django_db
def test_the_same_bundle_sent_again_updates_rather_than_duplicates(county_a):
    bundle_intake(bundle=_bundle(), actor=SYSTEM_A, base_url="http://testserver/fhir")
    again = bundle_intake(bundle=_bundle(), actor=SYSTEM_A, base_url="http://testserver/fhir")

    changed = _bundle()
    changed["entry"][0]["resource"]["telecom"] = [{"system": "phone", "value": "13900000000"}]
    updated = bundle_intake(bundle=changed, actor=SYSTEM_A, base_url="http://testserver/fhir")

    assert again["entry"][0]["response"]["status"].startswith("200")
    assert updated["entry"][0]["response"]["status"].startswith("200")
    assert Resource.objects.filter(resource_type="Patient", owner="county-a").count() == 1
    patient = Resource.objects.get(resource_type="Patient", fhir_id="county-a-p77")
    assert patient.content["telecom"][0]["value"] == "13900000000"


@pytest.mark.django_db(transaction=True)
def test_two_racing_deliveries_of_one_record_make_one_resource(county_a):
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def deliver():
        try:
            barrier.wait()
            bundle_intake(bundle=_bundle("batch"), actor=SYSTEM_A, base_url="http://testserver/fhir")
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert Resource.objects.filter(resource_type="Patient", fhir_id__startswith="county-a-").count() == 1
    assert Resource.objects.filter(resource_type="Observation", fhir_id__startswith="county-a-").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_record_pushed_and_pulled_is_one_copy(sync_a, site_a_server):
    pulled = site_a_server.store.get("Patient", "a0000002")
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": pulled, "request": {"method": "PUT", "url": "Patient/a0000002"}}],
    }
    bundle_intake(bundle=bundle, actor=SYSTEM_A, base_url="http://testserver/fhir")

    site_sync_run(sync_id=sync_a.pk)

    assert Resource.objects.filter(resource_type="Patient", fhir_id="county-a-a0000002").count() == 1
    assert Resource.objects.filter(resource_type="Patient", owner="county-a").count() == 12


@pytest.mark.django_db
def test_a_hub_user_cannot_use_the_site_intake(client, dr_li_at_county_a, token_for):
    response = client.post("/federation/fhir", _bundle(), content_type=FHIR, **token_for(dr_li_at_county_a))

    assert response.status_code == 403
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"resourceType": "Patient"}',
        b'{"resourceType": "Bundle", "type": "collection", "entry": []}',
        b'{"resourceType": "Bundle", "type": "batch", "entry": [{"resource": {"resourceType": "Patient"}}]}',
    ],
)
def test_bad_bundles_get_400_with_an_operation_outcome_and_store_nothing(client, county_a, token_of, body):
    headers = token_of(county_a, ["system/*.write"])

    response = client.post("/federation/fhir", body, content_type=FHIR, **headers)

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not Resource.objects.filter(owner="county-a").exists()


@pytest.mark.django_db
def test_an_invalid_record_in_a_pushed_transaction_stores_nothing(client, county_a, token_of):
    bundle = _bundle()
    bundle["entry"][1]["resource"]["valueQuantity"] = {"value": "high"}

    response = client.post("/federation/fhir", bundle, content_type=FHIR, **token_of(county_a, ["system/*.write"]))

    assert response.status_code in (400, 422)
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not Resource.objects.filter(owner="county-a").exists()
