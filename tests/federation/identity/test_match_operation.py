"""``POST /fhir/Patient/$match`` over HTTP."""

from __future__ import annotations

import random

import pytest

from federation.identity.features import patient_features
from federation.identity.matching import LinkItem, records_link
from federation.identity.services import goldens_publish
from federation.simulator.people import patient_resource, person_generate
from fhir_gateway import services
from fhir_gateway.context import SYNC, Actor

pytestmark = pytest.mark.django_db
FHIR = "application/fhir+json"


@pytest.fixture
def wang_at_two_sites(county_a, county_b):
    """One person with a record at county A and one at county B (stored and linked in the index)."""
    person = person_generate(random.Random(21), region="411321", district="东川县")
    at_a = {**patient_resource(person, mrn_system="urn:a", mrn="1"), "id": "county-a-1"}
    at_b = {**patient_resource(person, mrn_system="urn:b", mrn="2", pinyin_only=True), "id": "county-b-2"}
    at_b["telecom"] = [{"system": "phone", "value": "13911112222"}]  # only county B knows this number
    for site, patient in (("county-a", at_a), ("county-b", at_b)):
        services.resource_update(
            resource_type="Patient", fhir_id=patient["id"], resource=patient, actor=Actor(kind=SYNC, site=site)
        )
    report = records_link(
        items=[
            LinkItem(site_code="county-a", patient_id="county-a-1", features=patient_features(at_a)),
            LinkItem(site_code="county-b", patient_id="county-b-2", features=patient_features(at_b)),
        ]
    )
    goldens_publish(golden_ids=sorted(report.golden_ids))
    return person


def _parameters(patient: dict, **extra) -> dict:
    parameters = [{"name": "resource", "resource": patient}]
    parameters += [
        {"name": k, "valueBoolean": v} if isinstance(v, bool) else {"name": k, "valueInteger": v}
        for k, v in extra.items()
    ]
    return {"resourceType": "Parameters", "parameter": parameters}


def _match(client, headers, person, **extra):
    query = patient_resource(person, mrn_system="urn:x", mrn="9", resident_id="")
    return client.post("/fhir/Patient/$match", _parameters(query, **extra), content_type=FHIR, **headers)


def test_a_county_doctor_matches_only_their_own_sites_patient(client, dr_li_at_county_a, token_for, wang_at_two_sites):
    response = _match(client, token_for(dr_li_at_county_a), wang_at_two_sites, onlyCertainMatches=True)

    assert response.status_code == 200, response.content
    bundle = response.json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["county-a-1"]
    entry = bundle["entry"][0]
    assert entry["search"]["score"] > 0.9
    assert entry["search"]["extension"][0]["valueCode"] == "certain"
    assert "13911112222" not in response.content.decode()  # county B's contact details stay at county B
    assert "county-b-2" not in response.content.decode()


def test_the_platform_operator_gets_the_golden_patient_linking_both(client, db, token_for, wang_at_two_sites):
    from tests.factories import UserFactory

    operator = UserFactory(username="operator", is_superuser=True, is_staff=True, role="", site=None)
    bundle = _match(client, token_for(operator), wang_at_two_sites, onlyCertainMatches=True).json()

    assert bundle["total"] == 1
    golden = bundle["entry"][0]["resource"]
    assert {link["other"]["reference"] for link in golden["link"]} == {"Patient/county-a-1", "Patient/county-b-2"}


def test_an_official_gets_nothing(client, official_wang, token_for, wang_at_two_sites):
    response = _match(client, token_for(official_wang), wang_at_two_sites)

    assert response.status_code == 403
    assert "entry" not in response.json()


def test_a_match_is_audited_with_the_patients_it_answered(client, dr_li_at_county_a, token_for, wang_at_two_sites):
    from hub.audit.models import AuditEvent

    _match(client, token_for(dr_li_at_county_a), wang_at_two_sites)

    event = AuditEvent.objects.get(action="operation", actor_id=str(dr_li_at_county_a.pk))
    assert event.detail["operation"] == "$match"
    assert event.detail["patients"] == "Patient/county-a-1"


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
