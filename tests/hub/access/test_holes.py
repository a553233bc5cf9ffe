"""The twelve holes of issue #12, each shown over HTTP (every test here failed before its fix).

County A's doctor (Dr Li) and county B's (Dr Zhao) are the usual strangers to each other's records; an
unentitled caller must learn nothing, not even that a record exists, from a status code, a count or an id.
"""

from __future__ import annotations

import json

import orjson
import pytest

from fhir_gateway import services
from fhir_gateway.context import INTERNAL_ACTOR, SYNC, Actor
from fhir_gateway.models import Resource
from tests.factories import patient_resource

FHIR = "application/fhir+json"
SOURCE_SITE = "https://alliance.example/fhir/CodeSystem/source-site"


def _stored(resource: dict, *, owner: str) -> dict:
    return services.resource_create(resource=resource, actor=INTERNAL_ACTOR, owner=owner).resource


def _send(client, method: str, url: str, headers: dict, body=None, **extra):
    if body is None:
        return getattr(client, method)(url, **headers, **extra)
    data = body if isinstance(body, str) else json.dumps(body)
    content_type = extra.pop("content_type", FHIR)
    return getattr(client, method)(url, data, content_type=content_type, **headers, **extra)


def _observation(patient_id: str, code: str = "8867-4") -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "valueQuantity": {"value": 88, "unit": "/min"},
    }


# -- 1. where a record came from -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_1_a_patient_claiming_another_site_does_not_open_that_sites_live_record(
    client, county_a, sync_b, site_b_server, dr_li_at_county_a, token_for
):
    from django.core.cache import cache

    cache.clear()
    headers = token_for(dr_li_at_county_a)
    forged = {
        **patient_resource(3),
        "meta": {
            "source": "urn:alliance:site:county-b#Patient/b0000001",
            "tag": [{"system": SOURCE_SITE, "code": "county-b"}],
        },
    }
    created = _send(client, "post", "/fhir/Patient", headers, forged)
    assert created.status_code == 201, created.content
    stored = created.json()

    view = client.get(f"/federation/patients/{stored['id']}/record", **headers)

    assert view.status_code == 200
    assert view["X-Record-Source"] == "synced"  # county B was never asked
    assert [e["resource"]["id"] for e in view.json()["entry"]] == [stored["id"]]
    assert "b0000001" not in view.content.decode()
    assert "source" not in stored.get("meta", {})  # where a record came from is the hub's to say
    assert SOURCE_SITE not in json.dumps(stored)


# -- 2. $match -----------------------------------------------------------------------------------------------


def test_2_match_answers_an_official_nothing_and_a_doctor_only_their_sites_patient(
    client, county_a, county_b, official_wang, dr_li_at_county_a, token_for
):
    from federation.identity.features import patient_features
    from federation.identity.matching import LinkItem, records_link
    from hub.audit.models import AuditEvent

    at_a = {**patient_resource(5), "id": "county-a-5"}
    at_b = {**patient_resource(5, mrn_system="urn:site:county-b:mrn"), "id": "county-b-5"}
    at_b["telecom"] = [{"system": "phone", "value": "13900001111"}]
    for site, patient in (("county-a", at_a), ("county-b", at_b)):
        services.resource_update(
            resource_type="Patient", fhir_id=patient["id"], resource=patient, actor=Actor(kind=SYNC, site=site)
        )
    records_link(
        items=[
            LinkItem(site_code="county-a", patient_id="county-a-5", features=patient_features(at_a)),
            LinkItem(site_code="county-b", patient_id="county-b-5", features=patient_features(at_b)),
        ]
    )
    body = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": patient_resource(5)}]}

    official = _send(client, "post", "/fhir/Patient/$match", token_for(official_wang), body)
    doctor = _send(client, "post", "/fhir/Patient/$match", token_for(dr_li_at_county_a), body)

    assert official.status_code == 403
    assert at_a["name"][0]["family"] not in official.content.decode()
    assert doctor.status_code == 200
    assert [e["resource"]["id"] for e in doctor.json()["entry"]] == ["county-a-5"]
    assert "13900001111" not in doctor.content.decode() and "county-b-5" not in doctor.content.decode()
    assert AuditEvent.objects.filter(actor_id=str(dr_li_at_county_a.pk), action="operation").exists()


# -- 3. the history of a deleted record ----------------------------------------------------------------------


def test_3_the_history_of_a_deleted_record_is_not_shown_to_another_site(
    client, dr_li_at_county_a, dr_zhao_at_county_b, token_for
):
    li, zhao = token_for(dr_li_at_county_a), token_for(dr_zhao_at_county_b)
    patient = _send(client, "post", "/fhir/Patient", li, patient_resource(6)).json()
    assert client.delete(f"/fhir/Patient/{patient['id']}", **li).status_code == 204

    history = client.get(f"/fhir/Patient/{patient['id']}/_history", **zhao)
    missing = client.get("/fhir/Patient/never-there/_history", **zhao)

    assert (history.status_code, missing.status_code) == (404, 404)
    assert patient["name"][0]["family"] not in history.content.decode()
    assert client.get(f"/fhir/Patient/{patient['id']}/_history", **li).status_code == 200


# -- 4. PATCH ------------------------------------------------------------------------------------------------


def test_4_a_patch_test_op_tells_a_stranger_nothing(client, dr_li_at_county_a, dr_zhao_at_county_b, token_for):
    patient = _send(client, "post", "/fhir/Patient", token_for(dr_li_at_county_a), patient_resource(8)).json()
    zhao = token_for(dr_zhao_at_county_b)
    url = f"/fhir/Patient/{patient['id']}"

    answers = {
        guess: _send(
            client, "patch", url, zhao, [{"op": "test", "path": "/gender", "value": guess}],
            content_type="application/json-patch+json",
        ).status_code
        for guess in ("male", "female")
    }  # fmt: skip

    assert set(answers.values()) == {404}


def test_4_a_patch_cannot_grow_a_record_without_bound(client, dr_li_at_county_a, token_for, settings):
    settings.FHIR_MAX_BODY_BYTES = 256 * 1024
    li = token_for(dr_li_at_county_a)
    patient = _send(client, "post", "/fhir/Patient", li, patient_resource(9)).json()
    # Each copy adds another 100 kB: five of them take the record past the 256 kB a resource may have.
    growing = [{"op": "add", "path": "/extension", "value": [{"url": "urn:x", "valueString": "x" * 100_000}]}]
    growing += [{"op": "copy", "from": "/extension/0", "path": "/extension/-"} for _ in range(5)]

    response = _send(
        client, "patch", f"/fhir/Patient/{patient['id']}", li, growing, content_type="application/json-patch+json"
    )

    assert response.status_code == 422, response.status_code
    assert response.json()["issue"][0]["code"] == "too-costly"
    assert Resource.objects.get(fhir_id=patient["id"]).version_id == 1


# -- 5. conditional interactions -----------------------------------------------------------------------------


@pytest.fixture
def zhao_patient(client, dr_zhao_at_county_b, token_for):
    body = patient_resource(11, mrn_system="urn:site:county-b:mrn")
    return _send(client, "post", "/fhir/Patient", token_for(dr_zhao_at_county_b), body).json()


def test_5_conditional_interactions_never_match_another_sites_records(
    client, dr_li_at_county_a, token_for, zhao_patient
):
    li = token_for(dr_li_at_county_a)
    mrn = zhao_patient["identifier"][0]
    criteria = f"identifier={mrn['system']}|{mrn['value']}"

    created = _send(client, "post", "/fhir/Patient", li, patient_resource(12), HTTP_IF_NONE_EXIST=criteria)
    updated = _send(client, "put", f"/fhir/Patient?{criteria}", li, patient_resource(13))
    deleted = client.delete(f"/fhir/Patient?{criteria}", **li)
    transaction = _send(
        client,
        "post",
        "/fhir/",
        li,
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"resource": _observation("x") | {"subject": {"reference": f"Patient?{criteria}"}},
                       "request": {"method": "POST", "url": "Observation"}}],
        },
    )  # fmt: skip

    assert created.status_code == 201 and created.json()["id"] != zhao_patient["id"]
    assert updated.status_code == 201 and updated.json()["id"] != zhao_patient["id"]
    assert deleted.status_code == 204
    assert transaction.status_code == 412 and zhao_patient["id"] not in transaction.content.decode()
    assert Resource.objects.get(fhir_id=zhao_patient["id"]).version_id == 1


# -- 6. 410 and 412 ------------------------------------------------------------------------------------------


def test_6_gone_and_precondition_answers_say_nothing_of_another_sites_record(
    client, dr_li_at_county_a, dr_zhao_at_county_b, token_for, zhao_patient
):
    li, zhao = token_for(dr_li_at_county_a), token_for(dr_zhao_at_county_b)
    url = f"/fhir/Patient/{zhao_patient['id']}"
    body = {**patient_resource(14), "id": zhao_patient["id"]}

    right = _send(client, "put", url, li, body, HTTP_IF_MATCH='W/"1"')
    wrong = _send(client, "put", url, li, body, HTTP_IF_MATCH='W/"9"')
    missing = _send(client, "put", "/fhir/Patient/nobody", li, {**body, "id": "nobody"}, HTTP_IF_MATCH='W/"1"')
    # The same answer as for a record that does not exist, whichever version is guessed.
    assert right.status_code == wrong.status_code == missing.status_code == 403
    assert right.json()["issue"][0]["diagnostics"] == wrong.json()["issue"][0]["diagnostics"]

    assert client.delete(url, **zhao).status_code == 204
    assert client.get(url, **li).status_code == 404  # not 410: that it existed is county B's to know
    assert client.get(f"{url}/_history/1", **li).status_code == 404
    assert client.get(url, **zhao).status_code == 410


# -- 7. other sites' directory records and canonical URLs ----------------------------------------------------


def test_7_a_site_admin_changes_only_their_own_sites_directory_and_urls(client, admin_of_county_a, county_b, token_for):
    from tests.factories import UserFactory

    admin_b = UserFactory(username="admin_b", role="site_admin", site=county_b, is_staff=True)
    a, b = token_for(admin_of_county_a), token_for(admin_b)
    hub_org = _stored({"resourceType": "Organization", "name": "示范市医联体"}, owner="")
    b_endpoint = _send(
        client, "post", "/fhir/Endpoint", b,
        {"resourceType": "Endpoint", "status": "active", "connectionType": {"code": "hl7-fhir-rest"},
         "payloadType": [{"text": "FHIR"}], "address": "https://b.example/fhir"},
    ).json()  # fmt: skip
    url = "https://alliance.example/fhir/ValueSet/chest-pain-codes"
    b_value_set = {"resourceType": "ValueSet", "status": "active", "url": url}
    assert _send(client, "post", "/fhir/ValueSet", b, b_value_set).status_code == 201

    rename = _send(client, "put", f"/fhir/Organization/{hub_org['id']}", a, {**hub_org, "name": "改名"})
    redirect = _send(client, "put", f"/fhir/Endpoint/{b_endpoint['id']}", a, {**b_endpoint, "address": "https://evil"})
    hijack = _send(client, "post", "/fhir/ValueSet", a, {**b_value_set, "compose": {"include": [{"system": "urn:x"}]}})
    own = _send(
        client, "post", "/fhir/Organization", a, {"resourceType": "Organization", "name": "东川县人民医院信息科"}
    )

    assert (rename.status_code, redirect.status_code, hijack.status_code) == (403, 403, 403)
    assert own.status_code == 201
    assert Resource.objects.filter(resource_type="ValueSet").count() == 1


# -- 8. SMART scopes for every type a request touches --------------------------------------------------------


def test_8_scopes_hold_for_every_type_a_request_touches(client, county_a, token_of):
    patient = _stored({**patient_resource(15), "id": "ignored"}, owner="county-a")
    _stored(_observation(patient["id"]), owner="county-a")
    headers = token_of(county_a, ["system/Patient.read"])

    system_search = client.get("/fhir?_type=Observation", **headers)
    history = client.get("/fhir/_history", **headers)
    revinclude = client.get(f"/fhir/Patient?_id={patient['id']}&_revinclude=*", **headers)
    everything = client.get(f"/fhir/Patient/{patient['id']}/$everything", **headers)
    batch = _send(
        client, "post", "/fhir/", headers,
        {"resourceType": "Bundle", "type": "batch", "entry": [{"request": {"method": "GET", "url": "Observation"}}]},
    )  # fmt: skip

    assert system_search.status_code == 403
    assert {e["resource"]["resourceType"] for e in history.json()["entry"]} == {"Patient"}
    assert {e["resource"]["resourceType"] for e in revinclude.json()["entry"]} == {"Patient"}
    assert {e["resource"]["resourceType"] for e in everything.json()["entry"]} == {"Patient"}
    assert batch.json()["entry"][0]["response"]["status"] == "403"


# -- 9. another site's id namespace --------------------------------------------------------------------------


def test_9_nobody_creates_a_record_in_another_sites_namespace(client, dr_li_at_county_a, token_for):
    response = _send(
        client, "put", "/fhir/Patient/county-b-777", token_for(dr_li_at_county_a),
        {**patient_resource(16), "id": "county-b-777"},
    )  # fmt: skip

    assert response.status_code == 403
    assert not Resource.objects.filter(fhir_id="county-b-777").exists()
    # Nor does a site's sync adopt a record someone else owns under its namespace.
    _stored({**patient_resource(17)}, owner="county-a")
    squatted = services.resource_update(
        resource_type="Patient", fhir_id="county-b-778", resource={**patient_resource(17), "id": "county-b-778"},
        actor=INTERNAL_ACTOR, owner="county-a",
    )  # fmt: skip
    with pytest.raises(Exception, match="cannot be written"):
        services.resource_update(
            resource_type="Patient", fhir_id="county-b-778", resource={**patient_resource(18), "id": "county-b-778"},
            actor=Actor(kind=SYNC, id="sync:county-b", site="county-b"),
        )  # fmt: skip
    assert Resource.objects.get(fhir_id="county-b-778").version_id == int(squatted.version_id)


# -- 10. the workflow's own records --------------------------------------------------------------------------


def test_10_the_workflows_records_are_written_by_the_workflow_only(
    client, api_for, dr_li_at_county_a, cardiologist_zhang, chest_pain_request, token_for
):
    referral = api_for(dr_li_at_county_a).post("", chest_pain_request).json()
    li = token_for(dr_li_at_county_a)
    task_url = f"/fhir/{referral['fhir']['task']}"
    task = client.get(task_url, **li).json()

    rewrite = _send(client, "put", task_url, li, {**task, "status": "completed"})
    patch = _send(
        client, "patch", task_url, li, [{"op": "replace", "path": "/status", "value": "cancelled"}],
        content_type="application/json-patch+json",
    )  # fmt: skip
    delete = client.delete(f"/fhir/{referral['fhir']['service_request']}", **li)
    consent = client.delete(f"/fhir/Consent/{referral['consent']['id']}", **li) if "consent" in referral else None

    assert (rewrite.status_code, patch.status_code, delete.status_code) == (403, 403, 403)
    assert consent is None or consent.status_code == 403
    assert client.get(task_url, **li).json()["meta"]["versionId"] == task["meta"]["versionId"]


# -- 11. the down-referral's discharge summary ---------------------------------------------------------------


def test_11_the_county_doctor_receiving_a_down_referral_reads_its_discharge_summary(
    client, api_for, cardiologist_zhang, dr_li_at_county_a, dr_zhao_at_county_b, county_a, general_hospital, token_for
):
    patient = _stored(patient_resource(19, mrn_system="urn:site:general:mrn"), owner="general")
    response = api_for(cardiologist_zhang).post(
        "",
        {
            "kind": "down_referral",
            "urgency": "routine",
            "patient": f"Patient/{patient['id']}",
            "target_site": "county-a",
            "clinical_question": "PCI术后病情稳定，转回县医院继续康复治疗",
            "consent": {"method": "written", "given_by": "family"},
            "discharge_summary": "出院诊断：急性前壁心肌梗死 PCI 术后",
        },
    )
    summary = response.json()["attachments"][0]

    assert client.get(f"/fhir/{summary}", **token_for(dr_li_at_county_a)).status_code == 200
    assert client.get(f"/fhir/Patient/{patient['id']}", **token_for(dr_li_at_county_a)).status_code == 200
    assert client.get(f"/fhir/{summary}", **token_for(dr_zhao_at_county_b)).status_code == 404


# -- 12. the hub's own Provenance on a push ------------------------------------------------------------------


def test_12_a_site_client_with_the_readme_scopes_pushes_a_patient(client, county_a, token_of):
    headers = token_of(county_a, ["system/*.read", "system/Patient.write"])
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": {**patient_resource(20), "id": "p20"}, "request": {"method": "PUT", "url": "Patient/p20"}}
        ],
    }

    response = client.post("/federation/fhir", orjson.dumps(bundle), content_type=FHIR, **headers)

    assert response.status_code == 200, response.content
    assert Resource.objects.filter(resource_type="Patient", fhir_id="county-a-p20", owner="county-a").exists()
    provenance = Resource.objects.get(resource_type="Provenance")
    assert provenance.owner == "county-a"
    assert provenance.content["target"] == [{"reference": "Patient/county-a-p20"}]


@pytest.mark.django_db(transaction=True)
def test_9_two_racing_creates_of_one_id_never_change_its_owner(county_a, county_b):
    """Two writers that each found an id free and create it at once, for different owners: the second never
    becomes an update that hands the record to its owner (it is refused; the client may retry)."""
    import threading

    from django.db import connection

    from fhir_gateway.models import ResourceVersion

    ids = [f"race-{n}" for n in range(12)]
    barrier = threading.Barrier(2)

    def create(owner: str) -> None:
        try:
            for fhir_id in ids:
                barrier.wait(timeout=10)
                try:
                    services.resource_update(
                        resource_type="Patient", fhir_id=fhir_id, resource={**patient_resource(21), "id": fhir_id},
                        actor=Actor(kind=SYNC, id=f"sync:{owner}", site=owner),
                    )  # fmt: skip
                except Exception:  # noqa: S110 - the refusal of the loser is the point
                    pass
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(owner,)) for owner in ("county-a", "county-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for fhir_id in ids:
        owners = set(ResourceVersion.objects.filter(fhir_id=fhir_id).values_list("owner", flat=True))
        assert len(owners) == 1, f"{fhir_id} changed owner: {owners}"
