"""The audit trail as FHIR: ``/fhir/AuditEvent`` (IHE BALP shapes), who reads it, and what each access records."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.auth.models import Permission

from hub.audit.models import AuditEvent
from tests.factories import UserFactory, patient_resource

FHIR = "application/fhir+json"


@pytest.fixture
def auditor_sun(db):
    user = UserFactory(username="auditor_sun", role="", site=None)
    user.user_permissions.add(Permission.objects.get(codename="audit_all"))
    return user


@pytest.fixture
def admin_of_county_b(county_b):
    return UserFactory(username="admin_b", role="site_admin", site=county_b, is_staff=True)


def _create_patient(client, headers, seed: int) -> dict:
    response = client.post("/fhir/Patient", json.dumps(patient_resource(seed)), content_type=FHIR, **headers)
    assert response.status_code == 201, response.content
    return response.json()


def _events(client, headers, query: str = "") -> list[dict]:
    response = client.get(f"/fhir/AuditEvent?{query}", **headers)
    assert response.status_code == 200, response.content
    return [entry["resource"] for entry in response.json().get("entry", [])]


def _references(event: dict) -> set[str]:
    return {entity["what"]["reference"] for entity in event.get("entity", []) if "reference" in entity.get("what", {})}


def test_a_read_is_an_auditevent_with_who_where_what_and_outcome(client, dr_li_at_county_a, auditor_sun, token_for):
    doctor = token_for(dr_li_at_county_a)
    patient = _create_patient(client, doctor, 1)
    client.get(f"/fhir/Patient/{patient['id']}", **doctor)

    events = _events(client, token_for(auditor_sun), f"patient=Patient/{patient['id']}&_sort=date")
    assert [e["subtype"][0]["code"] for e in events] == ["create", "read"]
    read = events[1]
    assert read["resourceType"] == "AuditEvent"
    assert read["meta"]["profile"] == [
        "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"
    ]
    assert (read["action"], read["outcome"], read["outcomeDesc"]) == ("R", "0", "HTTP 200")
    person, site, client_agent = read["agent"]
    assert person["requestor"] is True
    assert person["who"]["identifier"]["value"] == str(dr_li_at_county_a.pk)
    assert site["who"]["identifier"] == {"system": "urn:alliance-hub:site", "value": "county-a"}
    assert client_agent["who"]["identifier"]["value"] == "bearer"
    assert f"Patient/{patient['id']}" in _references(read)
    # The same event by id, and it validates as R4.
    by_id = client.get(f"/fhir/AuditEvent/{read['id']}", **token_for(auditor_sun))
    assert by_id.status_code == 200 and by_id.json() == read
    valid = client.post("/fhir/AuditEvent/$validate", json.dumps(read), content_type=FHIR, **token_for(auditor_sun))
    assert valid.status_code == 200, valid.content


def test_a_search_records_its_query_and_the_patients_it_returned(client, dr_li_at_county_a, auditor_sun, token_for):
    doctor = token_for(dr_li_at_county_a)
    first, second = _create_patient(client, doctor, 2), _create_patient(client, doctor, 3)
    client.get("/fhir/Patient?gender=male,female,other,unknown&_count=50", **doctor)

    [search] = _events(client, token_for(auditor_sun), "subtype=search-type&agent=" + str(dr_li_at_county_a.pk))
    assert search["action"] == "E"
    assert {f"Patient/{first['id']}", f"Patient/{second['id']}"} <= _references(search)
    [query] = [e for e in search["entity"] if e.get("role", {}).get("code") == "24"]
    assert base64.b64decode(query["query"]).decode() == "gender=male%2Cfemale%2Cother%2Cunknown&_count=50"


def test_a_search_of_other_records_records_the_patients_they_are_about(
    client, dr_li_at_county_a, admin_of_county_a, auditor_sun, token_for
):
    doctor = token_for(dr_li_at_county_a)
    first, second = _create_patient(client, doctor, 5), _create_patient(client, doctor, 6)
    for patient in (first, second):
        observation = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": f"Patient/{patient['id']}"},
            "valueQuantity": {"value": 80, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
        }
        assert client.post("/fhir/Observation", json.dumps(observation), content_type=FHIR, **doctor).status_code == 201
    client.get("/fhir/Observation?code=http://loinc.org|8867-4", **doctor)  # names no patient

    [search] = _events(client, token_for(auditor_sun), "subtype=search-type&agent=" + str(dr_li_at_county_a.pk))
    assert {f"Patient/{first['id']}", f"Patient/{second['id']}"} <= _references(search)
    # and the site's administrator finds it by either patient
    for patient in (first, second):
        found = _events(client, token_for(admin_of_county_a), f"patient=Patient/{patient['id']}&subtype=search-type")
        assert [e["id"] for e in found] == [search["id"]]


def test_refusals_are_recorded_and_shown_to_the_owning_sites_admin_only(
    client, dr_li_at_county_a, dr_zhao_at_county_b, admin_of_county_a, admin_of_county_b, token_for
):
    patient = _create_patient(client, token_for(dr_li_at_county_a), 4)
    assert client.get(f"/fhir/Patient/{patient['id']}", **token_for(dr_zhao_at_county_b)).status_code == 404

    seen_by_a = _events(client, token_for(admin_of_county_a), f"patient=Patient/{patient['id']}&outcome=4")
    assert len(seen_by_a) == 1
    assert seen_by_a[0]["agent"][0]["who"]["identifier"]["value"] == str(dr_zhao_at_county_b.pk)
    assert seen_by_a[0]["outcomeDesc"] == "HTTP 404"
    # County B's administrator sees nothing of county A's patient, not even by the event's id.
    assert _events(client, token_for(admin_of_county_b), f"patient=Patient/{patient['id']}") == []
    assert client.get(f"/fhir/AuditEvent/{seen_by_a[0]['id']}", **token_for(admin_of_county_b)).status_code == 404


@pytest.mark.parametrize("who", ["dr_li_at_county_a", "official_wang", "cardiologist_zhang"])
def test_no_one_else_reads_the_audit_trail(client, request, token_for, who):
    headers = token_for(request.getfixturevalue(who))
    assert client.get("/fhir/AuditEvent", **headers).status_code == 403
    event = AuditEvent.objects.order_by("-id").first()
    assert client.get(f"/fhir/AuditEvent/{event.pk if event else 1}", **headers).status_code == 403


def test_the_audit_trail_is_not_written_through_fhir(client, auditor_sun, admin_of_county_a, token_for):
    body = {
        "resourceType": "AuditEvent",
        "type": {"code": "rest"},
        "recorded": "2026-01-01T00:00:00Z",
        "agent": [{"requestor": True}],
        "source": {"observer": {"display": "x"}},
    }
    before = AuditEvent.objects.count()
    for headers in (token_for(auditor_sun), token_for(admin_of_county_a)):
        assert client.post("/fhir/AuditEvent", json.dumps(body), content_type=FHIR, **headers).status_code == 405
        assert (
            client.put("/fhir/AuditEvent/1", json.dumps({**body, "id": "1"}), content_type=FHIR, **headers).status_code
            == 405
        )
        assert client.delete("/fhir/AuditEvent/1", **headers).status_code == 405
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": body, "request": {"method": "POST", "url": "AuditEvent"}}],
    }
    answer = client.post("/fhir/", json.dumps(transaction), content_type=FHIR, **token_for(auditor_sun))
    assert answer.status_code == 405
    assert not AuditEvent.objects.filter(id__gt=0, action="create", resource_type="AuditEvent", success=True).exists()
    assert AuditEvent.objects.count() > before  # the refusals themselves are recorded


def test_search_parameters_are_checked(client, auditor_sun, token_for):
    headers = token_for(auditor_sun)
    for query in ("nonsense=1", "date=yesterday", "_count=0", "_count=x", "_sort=agent"):
        answer = client.get(f"/fhir/AuditEvent?{query}", **headers)
        assert answer.status_code == 400, query
        assert answer.json()["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/AuditEvent?date=ge2020-01-01&_count=1&_total=accurate", **headers).status_code == 200


def test_every_entry_of_a_batch_is_recorded_and_a_failed_transactions_entries_as_rolled_back(
    client, dr_li_at_county_a, token_for
):
    doctor = token_for(dr_li_at_county_a)
    patient = _create_patient(client, doctor, 5)
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{patient['id']}"},
    }
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": observation, "request": {"method": "POST", "url": "Observation"}},
            {"request": {"method": "GET", "url": f"Patient/{patient['id']}"}},
            {"request": {"method": "GET", "url": "Patient/not-there"}},
        ],
    }
    assert client.post("/fhir/", json.dumps(batch), content_type=FHIR, **doctor).status_code == 200
    rows = AuditEvent.objects.filter(actor_id=str(dr_li_at_county_a.pk)).order_by("id")
    assert [(r.action, r.resource_type, r.status) for r in rows][-4:] == [
        ("create", "Observation", 201),
        ("read", "Patient", 200),
        ("read", "Patient", 404),
        ("batch", "", 200),
    ]
    failing = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": observation, "request": {"method": "POST", "url": "Observation"}},
            {"request": {"method": "DELETE", "url": "Organization/not-mine"}, "resource": None},
        ],
    }
    failing["entry"][1].pop("resource")
    failing["entry"][1]["request"] = {"method": "PUT", "url": "Patient/county-b-taken"}
    failing["entry"][1]["resource"] = {**patient_resource(6), "id": "county-b-taken"}
    answer = client.post("/fhir/", json.dumps(failing), content_type=FHIR, **doctor)
    assert answer.status_code == 403, answer.content
    last = list(AuditEvent.objects.filter(actor_id=str(dr_li_at_county_a.pk)).order_by("-id")[:3])
    assert sorted((r.action, r.resource_type, r.status) for r in last) == [
        ("create", "Observation", 403),
        ("transaction", "", 403),
        ("update", "Patient", 403),
    ]
    assert all(r.detail.get("rolled_back") is True for r in last if r.action != "transaction")


def test_a_write_and_its_audit_row_commit_together(client, dr_li_at_county_a, token_for):
    """The row of a successful write is stored in the write's own transaction (before the response)."""
    from fhir_gateway.models import Resource

    patient = _create_patient(client, token_for(dr_li_at_county_a), 7)
    stored = Resource.objects.get(resource_type="Patient", fhir_id=patient["id"])
    row = AuditEvent.objects.get(action="create", fhir_id=patient["id"])
    assert row.success and row.owner == "county-a"
    with __import__("django.db").db.connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT xmin::text FROM fhir_gateway_resource WHERE id = %s), "
            "(SELECT xmin::text FROM audit_auditevent WHERE id = %s)",
            [stored.pk, row.pk],
        )
        resource_xid, audit_xid = cursor.fetchone()
    assert resource_xid == audit_xid


def test_what_the_hub_does_for_a_signed_in_user_is_recorded_as_theirs(
    client, dr_li_at_county_a, cardiologist_zhang, token_for
):
    patient = _create_patient(client, token_for(dr_li_at_county_a), 8)
    body = {
        "kind": "consultation",
        "urgency": "urgent",
        "pathway": "chest_pain",
        "patient": f"Patient/{patient['id']}",
        "clinical_question": "胸痛待查",
        "target_specialty": "cardiology",
        "consent": {},
    }
    answer = client.post(
        "/api/referrals/", json.dumps(body), content_type="application/json", **token_for(dr_li_at_county_a)
    )
    assert answer.status_code == 201, answer.content
    rows = AuditEvent.objects.filter(resource_type="ServiceRequest", action="create")
    assert rows.exists()
    assert all(r.actor_id == str(dr_li_at_county_a.pk) and r.detail.get("via") == "hub" for r in rows)
    assert all(r.actor_kind == "user" and r.actor_site == "county-a" for r in rows)


def test_the_referral_apis_lists_details_and_refusals_are_recorded(
    client, dr_li_at_county_a, dr_zhao_at_county_b, cardiologist_zhang, token_for
):
    patient = _create_patient(client, token_for(dr_li_at_county_a), 9)
    body = {
        "kind": "consultation",
        "urgency": "urgent",
        "pathway": "chest_pain",
        "patient": f"Patient/{patient['id']}",
        "clinical_question": "胸痛待查",
        "target_specialty": "cardiology",
        "consent": {},
    }
    created = client.post(
        "/api/referrals/", json.dumps(body), content_type="application/json", **token_for(dr_li_at_county_a)
    ).json()
    referral_id = created["id"]
    assert client.get("/api/referrals/", **token_for(cardiologist_zhang)).status_code == 200
    assert client.get(f"/api/referrals/{referral_id}", **token_for(cardiologist_zhang)).status_code == 200
    assert client.get(f"/api/referrals/{referral_id}", **token_for(dr_zhao_at_county_b)).status_code == 404

    def rows(user):
        return list(AuditEvent.objects.filter(actor_id=str(user.pk), resource_type="ServiceRequest").order_by("id"))

    seen = rows(cardiologist_zhang)
    assert [(r.action, r.detail["page"], r.patient) for r in seen] == [
        ("search", "api-list", f"Patient/{patient['id']}"),
        ("read", "api-detail", f"Patient/{patient['id']}"),
    ]
    [refused] = rows(dr_zhao_at_county_b)
    assert (refused.status, refused.owner, refused.patient) == (404, "county-a", f"Patient/{patient['id']}")


def test_the_record_view_and_match_are_recorded_for_the_patients_site(
    client, dr_li_at_county_a, admin_of_county_a, token_for
):
    doctor = token_for(dr_li_at_county_a)
    patient = _create_patient(client, doctor, 10)
    assert client.get(f"/federation/patients/{patient['id']}/record", **doctor).status_code == 200
    parameters = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": patient}]}
    matched = client.post("/fhir/Patient/$match", json.dumps(parameters), content_type=FHIR, **doctor)
    assert matched.status_code == 200, matched.content

    events = _events(client, token_for(admin_of_county_a), f"agent={dr_li_at_county_a.pk}&subtype=operation")
    operations = {
        detail["valueString"]
        for event in events
        for entity in event.get("entity", [])
        for detail in entity.get("detail", [])
        if detail["type"] == "operation"
    }
    assert "$record-view" in operations
    view = AuditEvent.objects.get(detail__operation="$record-view")
    assert (view.owner, view.patient, view.status) == ("county-a", f"Patient/{patient['id']}", 200)
    assert AuditEvent.objects.filter(detail__operation="$match", actor_id=str(dr_li_at_county_a.pk)).exists()


def test_a_search_for_another_sites_patient_is_shown_to_that_sites_admin(
    client, dr_li_at_county_a, dr_zhao_at_county_b, admin_of_county_b, admin_of_county_a, token_for
):
    theirs = _create_patient(client, token_for(dr_zhao_at_county_b), 11)
    mine = _create_patient(client, token_for(dr_li_at_county_a), 12)
    found = client.get(f"/fhir/Patient?_id={theirs['id']}", **token_for(dr_li_at_county_a)).json()
    assert found.get("entry", []) == []  # nothing of county B's patient
    client.get(f"/fhir/Patient?_id={mine['id']}", **token_for(dr_li_at_county_a))

    query = f"agent={dr_li_at_county_a.pk}&subtype=search-type"
    [seen_by_b] = _events(client, token_for(admin_of_county_b), query)
    assert f"Patient/{theirs['id']}" in _references(seen_by_b)
    [seen_by_a] = _events(client, token_for(admin_of_county_a), query)
    assert f"Patient/{mine['id']}" in _references(seen_by_a)
    assert f"Patient/{theirs['id']}" not in _references(seen_by_a)
