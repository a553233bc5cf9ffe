"""Patient records over /fhir/: only the entitled see them, and every read and write is audited."""

import json

import pytest

from hub.audit.models import AuditEvent
from tests.factories import patient_resource

FHIR = "application/fhir+json"


@pytest.fixture
def patient_at_county_a(client, dr_li_at_county_a, token_for):
    response = client.post(
        "/fhir/Patient", json.dumps(patient_resource(7)), content_type=FHIR, **token_for(dr_li_at_county_a)
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_patient_created_by_a_county_doctor_is_owned_by_their_site(patient_at_county_a):
    from fhir_gateway.models import Resource

    stored = Resource.objects.get(resource_type="Patient", fhir_id=patient_at_county_a["id"])
    assert stored.owner == "county-a"


def test_the_same_site_reads_it(client, dr_li_at_county_a, token_for, patient_at_county_a):
    response = client.get(f"/fhir/Patient/{patient_at_county_a['id']}", **token_for(dr_li_at_county_a))
    assert response.status_code == 200


def test_a_doctor_at_county_b_cannot_read_or_change_it(client, dr_zhao_at_county_b, token_for, patient_at_county_a):
    headers = token_for(dr_zhao_at_county_b)
    url = f"/fhir/Patient/{patient_at_county_a['id']}"
    read = client.get(url, **headers)
    assert read.status_code == 404
    assert read.json()["resourceType"] == "OperationOutcome"
    changed = dict(patient_at_county_a, gender="other")
    assert client.put(url, json.dumps(changed), content_type=FHIR, **headers).status_code == 403
    assert client.delete(url, **headers).status_code == 204
    after = client.get(url, **token_for(_site_doctor(patient_at_county_a)))
    assert after.json()["gender"] == patient_at_county_a["gender"]


def _site_doctor(_patient):
    from hub.accounts.models import User

    return User.objects.get(username="dr_li")


def test_county_b_does_not_find_it_by_search(
    client, dr_zhao_at_county_b, dr_li_at_county_a, token_for, patient_at_county_a
):
    family = patient_at_county_a["name"][0]["family"]
    own = client.get(f"/fhir/Patient?family={family}", **token_for(dr_li_at_county_a)).json()
    other = client.get(f"/fhir/Patient?family={family}", **token_for(dr_zhao_at_county_b)).json()
    assert patient_at_county_a["id"] in {entry["resource"]["id"] for entry in own.get("entry", [])}
    assert patient_at_county_a["id"] not in {entry["resource"]["id"] for entry in other.get("entry", [])}


def test_an_official_reads_no_patient_records(client, official_wang, token_for, patient_at_county_a):
    response = client.get(f"/fhir/Patient/{patient_at_county_a['id']}", **token_for(official_wang))
    assert response.status_code == 403


def test_anonymous_callers_get_401_but_may_read_the_capability_statement(client, db, patient_at_county_a):
    assert client.get(f"/fhir/Patient/{patient_at_county_a['id']}").status_code == 401
    assert client.get("/fhir/metadata").status_code == 200


def test_reads_writes_and_refusals_are_audited(
    client, dr_li_at_county_a, dr_zhao_at_county_b, token_for, patient_at_county_a
):
    patient_id = patient_at_county_a["id"]
    client.get(f"/fhir/Patient/{patient_id}", **token_for(dr_li_at_county_a))
    client.get(f"/fhir/Patient/{patient_id}", **token_for(dr_zhao_at_county_b))
    events = list(AuditEvent.objects.filter(patient=f"Patient/{patient_id}").order_by("id"))
    assert [(e.actor_id, e.action, e.status) for e in events] == [
        (str(dr_li_at_county_a.pk), "create", 201),
        (str(dr_li_at_county_a.pk), "read", 200),
        (str(dr_zhao_at_county_b.pk), "read", 404),
    ]
    assert events[2].success is False
    assert events[2].actor_site == "county-b"
    assert events[0].owner == "county-a"


def test_a_site_admin_reads_their_sites_audit_trail_over_the_api(
    client, admin_of_county_a, dr_zhao_at_county_b, token_for, patient_at_county_a
):
    patient = f"Patient/{patient_at_county_a['id']}"
    client.get(f"/fhir/{patient}", **token_for(dr_zhao_at_county_b))  # refused, but about county A's record
    response = client.get(f"/api/audit/events?patient={patient}", **token_for(admin_of_county_a))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {(row["action"], row["status"]) for row in rows} == {("create", 201), ("read", 404)}


def test_the_audit_trail_is_closed_to_doctors_and_checks_its_filters(
    client, dr_li_at_county_a, admin_of_county_a, token_for
):
    assert client.get("/api/audit/events", **token_for(dr_li_at_county_a)).status_code == 403
    bad = client.get("/api/audit/events?since=yesterday", **token_for(admin_of_county_a))
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid"
    for query in ("success=", "success=maybe"):  # an empty value is not "either": it is refused
        refused = client.get(f"/api/audit/events?{query}", **token_for(admin_of_county_a))
        assert refused.status_code == 400 and refused.json()["error"] == "invalid", query
    assert client.get("/api/audit/events?success=false", **token_for(admin_of_county_a)).status_code == 200
