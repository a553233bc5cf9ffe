"""Real FHIR client libraries (fhirpy, fhirclient) against the running gateway over HTTP."""

from __future__ import annotations

import pytest
import requests
from fhirclient import server as fhirclient_server
from fhirclient.models.humanname import HumanName
from fhirclient.models.patient import Patient as ClientPatient
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bearer(dr_li_at_county_a):
    from hub.accounts.services import api_token_create

    return api_token_create(user=dr_li_at_county_a, name="interop")[1]


@pytest.fixture
def fhirpy_client(live_server, bearer) -> SyncFHIRClient:
    return SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {bearer}")


def test_fhirpy_crud_and_history(fhirpy_client, live_server, bearer):
    created = fhirpy_client.resource("Patient", **patient())
    created.save()
    assert created.id and created["meta"]["versionId"] == "1"

    fetched = fhirpy_client.reference("Patient", created.id).to_resource()
    assert fetched["name"][0]["family"] == "王"
    fetched["gender"] = "male"
    fetched.save()
    assert fetched["meta"]["versionId"] == "2"
    fetched.patch(active=True)  # fhirpy sends a JSON Merge Patch
    assert fhirpy_client.reference("Patient", created.id).to_resource()["active"] is True
    history = fhirpy_client.execute(f"Patient/{created.id}/_history", method="get")
    assert history["type"] == "history" and history["total"] >= 2

    fetched.delete()
    with pytest.raises((ResourceNotFound, OperationOutcome)):
        fhirpy_client.reference("Patient", created.id).to_resource()
    url = f"{live_server.url}/fhir/Patient/{created.id}"
    gone = requests.get(url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30)
    assert gone.status_code == 410


def test_fhirpy_conditional_create_and_search(fhirpy_client):
    criteria = fhirpy_client.resources("Patient").search(identifier="urn:alliance:site:county-a:mrn|A555")
    first, created = criteria.get_or_create(fhirpy_client.resource("Patient", **patient(mrn="A555")))
    again, created_again = criteria.get_or_create(fhirpy_client.resource("Patient", **patient(mrn="A555")))
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    found = fhirpy_client.resources("Patient").search(identifier="A555").fetch_all()
    assert [p.id for p in found] == [first.id]


def test_fhirpy_transaction(fhirpy_client):
    urn = "urn:uuid:5b1c2d3e-0000-4000-8000-00000000beef"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": urn, "resource": patient(mrn="T1"), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "心率"},
                    "subject": {"reference": urn},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    response = fhirpy_client.execute("", method="post", data=bundle)
    assert response["type"] == "transaction-response"
    patient_id = response["entry"][0]["response"]["location"].split("/")[1]
    observation_id = response["entry"][1]["response"]["location"].split("/")[1]
    observation = fhirpy_client.reference("Observation", observation_id).to_resource()
    assert observation["subject"]["reference"] == f"Patient/{patient_id}"


def test_fhirclient_reads_the_capability_statement_and_creates_and_reads(live_server, bearer):
    server = fhirclient_server.FHIRServer(None, base_uri=f"{live_server.url}/fhir/")
    server.session.headers["Authorization"] = f"Bearer {bearer}"
    server.get_capability()
    assert server.capabilityStatement.fhirVersion == "4.0.1"

    new = ClientPatient({"gender": "female", "birthDate": "1970-01-01"})
    new.name = [HumanName({"family": "陈", "given": ["静"]})]
    response = new.create(server)
    fhir_id = response["id"] if isinstance(response, dict) else None
    assert fhir_id
    read = ClientPatient.read(fhir_id, server)
    assert read.name[0].family == "陈" and read.meta.versionId == "1"


def test_fhirclient_searches_and_reads_history(live_server, bearer):
    server = fhirclient_server.FHIRServer(None, base_uri=f"{live_server.url}/fhir/")
    server.session.headers["Authorization"] = f"Bearer {bearer}"
    for mrn in ("F1", "F2"):
        created = ClientPatient(patient(mrn=mrn)).create(server)
        assert created["id"]
    found = list(
        ClientPatient.where(struct={"identifier": "urn:alliance:site:county-a:mrn|F2"}).perform_resources_iter(server)
    )
    assert [p.identifier[0].value for p in found] == ["F2"]
    from fhirclient.models.bundle import Bundle

    history = Bundle(server.request_json("Patient/_history"))
    assert history.type == "history" and history.total == 2
