"""``POST /fhir/Patient/$match`` over HTTP."""

from __future__ import annotations

import random

import pytest

from federation.identity.features import patient_features
from federation.identity.matching import LinkItem, records_link
from federation.simulator.people import patient_resource, person_generate

pytestmark = pytest.mark.django_db
FHIR = "application/fhir+json"


@pytest.fixture
def wang_at_two_sites():
    person = person_generate(random.Random(21), region="411321", district="东川县")
    at_a = patient_resource(person, mrn_system="urn:a", mrn="1")
    at_b = patient_resource(person, mrn_system="urn:b", mrn="2", pinyin_only=True)
    records_link(
        items=[
            LinkItem(site_code="county-a", patient_id="county-a-1", features=patient_features(at_a)),
            LinkItem(site_code="county-b", patient_id="county-b-2", features=patient_features(at_b)),
        ]
    )
    return person


def _parameters(patient: dict, **extra) -> dict:
    parameters = [{"name": "resource", "resource": patient}]
    parameters += [
        {"name": k, "valueBoolean": v} if isinstance(v, bool) else {"name": k, "valueInteger": v}
        for k, v in extra.items()
    ]
    return {"resourceType": "Parameters", "parameter": parameters}


def test_it_returns_the_golden_patient_with_a_score_and_grade(client, dr_li_at_county_a, token_for, wang_at_two_sites):
    query = patient_resource(wang_at_two_sites, mrn_system="urn:x", mrn="9", resident_id="")

    response = client.post(
        "/fhir/Patient/$match", _parameters(query, onlyCertainMatches=True), content_type=FHIR,
        **token_for(dr_li_at_county_a),
    )  # fmt: skip

    assert response.status_code == 200, response.content
    bundle = response.json()
    assert bundle["total"] == 1
    entry = bundle["entry"][0]
    assert entry["search"]["score"] > 0.9
    assert entry["search"]["extension"][0]["valueCode"] == "certain"
    assert {link["other"]["reference"] for link in entry["resource"]["link"]} == {
        "Patient/county-a-1",
        "Patient/county-b-2",
    }


def test_a_stranger_matches_nobody(client, dr_li_at_county_a, token_for, wang_at_two_sites):
    stranger = patient_resource(
        person_generate(random.Random(999), region="411325", district="青石县"), mrn_system="x", mrn="1"
    )

    response = client.post(
        "/fhir/Patient/$match", _parameters(stranger), content_type=FHIR, **token_for(dr_li_at_county_a)
    )

    assert response.status_code == 200
    assert response.json()["total"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Parameters", "parameter": []},
        {"resourceType": "Observation"},
        {"resourceType": "Parameters", "parameter": [{"name": "count", "valueInteger": 0}]},
    ],
)
def test_bad_input_gets_400_with_an_operation_outcome(client, dr_li_at_county_a, token_for, body):
    response = client.post("/fhir/Patient/$match", body, content_type=FHIR, **token_for(dr_li_at_county_a))

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_it_needs_authentication(client, db):
    response = client.post("/fhir/Patient/$match", {"resourceType": "Parameters"}, content_type=FHIR)

    assert response.status_code == 401
