"""Site systems authenticate with OAuth2 client credentials and reach only what their scopes and site allow."""

from __future__ import annotations

import random

import pytest

from federation.auth.services import site_client_create
from federation.simulator.people import patient_resource, person_generate
from fhir_gateway import services
from fhir_gateway.context import SYNC, Actor

pytestmark = pytest.mark.django_db
FHIR = "application/fhir+json"


def _patient(seed: int, site: str) -> dict:
    person = person_generate(random.Random(seed), region="411321", district="东川县")
    return patient_resource(person, mrn_system=f"urn:site:{site}:mrn", mrn=f"M{seed}")


def _stored_by_sync(site: str, fhir_id: str, seed: int) -> None:
    services.resource_update(
        resource_type="Patient",
        fhir_id=fhir_id,
        resource={**_patient(seed, site), "id": fhir_id},
        actor=Actor(kind=SYNC, id=f"sync:{site}", site=site),
    )


def test_it_issues_tokens_only_for_the_scopes_a_site_was_granted(client, county_a):
    _c, client_id, secret = site_client_create(site=county_a, name="HIS", scopes=["system/Patient.read"])
    from tests.federation.conftest import _basic

    refused = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "system/*.write"},
        HTTP_AUTHORIZATION=_basic(client_id, secret),
    )

    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"


def test_a_site_reads_its_own_records_but_not_another_sites(client, county_a, county_b, token_of):
    _stored_by_sync("county-a", "county-a-p1", 1)
    _stored_by_sync("county-b", "county-b-p2", 2)
    headers = token_of(county_a, ["system/*.read"])

    own = client.get("/fhir/Patient/county-a-p1", **headers)
    other = client.get("/fhir/Patient/county-b-p2", **headers)

    assert own.status_code == 200
    assert other.status_code == 404
    assert other.json()["resourceType"] == "OperationOutcome"


def test_a_read_scope_does_not_allow_writing(client, county_a, token_of):
    headers = token_of(county_a, ["system/*.read"])

    response = client.post("/fhir/Patient", _patient(3, "county-a"), content_type=FHIR, **headers)

    assert response.status_code == 403


def test_a_site_never_writes_as_another_site(client, county_a, county_b, token_of):
    _stored_by_sync("county-b", "county-b-p2", 2)
    headers = token_of(county_a, ["system/*.read", "system/Patient.write"])
    overwrite = {**_patient(9, "county-a"), "id": "county-b-p2"}

    response = client.put("/fhir/Patient/county-b-p2", overwrite, content_type=FHIR, **headers)

    assert response.status_code == 403
    assert (
        services.resource_read(resource_type="Patient", fhir_id="county-b-p2", actor=Actor(kind=SYNC, site="county-b"))[
            "meta"
        ]["versionId"]
        == "1"
    )


def test_a_site_writes_are_stamped_with_its_source(client, county_a, token_of):
    headers = token_of(county_a, ["system/Patient.write", "system/Patient.read"])

    response = client.post("/fhir/Patient", _patient(4, "county-a"), content_type=FHIR, **headers)

    assert response.status_code == 201, response.content
    body = client.get(f"/fhir/{response['Location'].split('/fhir/')[-1].split('/_history')[0]}", **headers).json()
    assert body["meta"]["source"].startswith("urn:alliance:site:county-a")
    assert {"system": "https://alliance.example/fhir/CodeSystem/source-site", "code": "county-a"} in body["meta"]["tag"]


def test_an_unknown_bearer_token_gets_401_with_an_operation_outcome(client, db):
    response = client.get("/fhir/Patient/x", HTTP_AUTHORIZATION="Bearer not-a-real-token")

    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_site_searches_only_its_own_records(client, county_a, county_b, token_of):
    _stored_by_sync("county-a", "county-a-p1", 1)
    _stored_by_sync("county-b", "county-b-p2", 2)
    headers = token_of(county_a, ["system/Patient.read"])

    bundle = client.get("/fhir/Patient", **headers).json()

    assert bundle["resourceType"] == "Bundle"
    assert [e["resource"]["id"] for e in bundle.get("entry", [])] == ["county-a-p1"]


def test_a_scope_for_one_type_does_not_reach_another(client, county_a, token_of):
    headers = token_of(county_a, ["system/Patient.read"])

    response = client.get("/fhir/Observation", **headers)

    assert response.status_code == 403
