"""The gateway's Python API, as federation and referrals call it."""

from __future__ import annotations

import pytest

from fhir_gateway import hooks, services
from fhir_gateway.context import ANONYMOUS_ACTOR
from fhir_gateway.errors import FhirError, Forbidden, Gone, NotFound, PreconditionFailed
from fhir_gateway.models import Resource, ResourceVersion
from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db


def test_create_assigns_an_id_version_and_owner(workflow_at_county_a):
    result = services.resource_create(resource=patient(), actor=workflow_at_county_a, source="urn:test")

    assert result.status == 201 and result.created and result.version_id == "1"
    fhir_id = result.resource["id"]
    assert result.location == f"Patient/{fhir_id}/_history/1"
    assert result.resource["meta"]["source"] == "urn:test"
    row = Resource.objects.get(fhir_id=fhir_id)
    assert row.owner == "county-a" and row.version_id == 1
    version = ResourceVersion.objects.get(resource=row)
    assert (version.actor_kind, version.actor_id, version.method) == ("internal", "referrals", "POST")
    assert (
        services.resource_read(resource_type="Patient", fhir_id=fhir_id, actor=workflow_at_county_a)["name"][0][
            "family"
        ]
        == "王"
    )


def test_update_versions_and_vread_keeps_every_version(workflow_at_county_a):
    created = services.resource_create(resource=patient(), actor=workflow_at_county_a)
    fhir_id = created.resource["id"]
    body = {**patient(given="芳芳"), "id": fhir_id}
    updated = services.resource_update(
        resource_type="Patient", fhir_id=fhir_id, resource=body, actor=workflow_at_county_a
    )

    assert (updated.status, updated.version_id, updated.created) == (200, "2", False)
    first = services.resource_vread(
        resource_type="Patient", fhir_id=fhir_id, version_id="1", actor=workflow_at_county_a
    )
    assert first["name"][0]["given"] == ["芳"]
    with pytest.raises(PreconditionFailed):
        services.resource_update(
            resource_type="Patient", fhir_id=fhir_id, resource=body, actor=workflow_at_county_a, if_match='W/"1"'
        )


def test_update_as_create_with_the_clients_id(workflow_at_county_a):
    result = services.resource_update(
        resource_type="Patient",
        fhir_id="pat-1",
        resource={**patient(), "id": "pat-1"},
        actor=workflow_at_county_a,
        owner="county-b",
    )
    assert (result.status, result.created) == (201, True)
    assert Resource.objects.get(fhir_id="pat-1").owner == "county-b"


def test_conditional_create_finds_the_existing_record(workflow_at_county_a):
    first = services.resource_create(
        resource=patient(), actor=workflow_at_county_a, if_none_exist="identifier=urn:alliance:site:county-a:mrn|A001"
    )
    again = services.resource_create(
        resource=patient(), actor=workflow_at_county_a, if_none_exist="identifier=urn:alliance:site:county-a:mrn|A001"
    )
    assert (first.status, again.status) == (201, 200)
    assert again.resource["id"] == first.resource["id"]
    assert Resource.objects.count() == 1


def test_patch_delete_then_gone_and_history(workflow_at_county_a):
    fhir_id = services.resource_create(resource=patient(), actor=workflow_at_county_a).resource["id"]
    patched = services.resource_patch(
        resource_type="Patient",
        fhir_id=fhir_id,
        patch=[{"op": "replace", "path": "/gender", "value": "male"}],
        actor=workflow_at_county_a,
    )
    assert patched.resource["gender"] == "male" and patched.version_id == "2"
    deleted = services.resource_delete(resource_type="Patient", fhir_id=fhir_id, actor=workflow_at_county_a)
    assert deleted.status == 204
    with pytest.raises(Gone):
        services.resource_read(resource_type="Patient", fhir_id=fhir_id, actor=workflow_at_county_a)
    history = services.resource_history(
        resource_type="Patient", fhir_id=fhir_id, actor=workflow_at_county_a, params=[], base_url="http://hub/fhir"
    )
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "PATCH", "POST"]
    assert history["total"] == 3


def test_refusals(workflow_at_county_a):
    with pytest.raises(NotFound):
        services.resource_read(resource_type="Patient", fhir_id="nope", actor=workflow_at_county_a)
    with pytest.raises(FhirError) as invalid:
        services.resource_create(resource={**patient(), "birthDate": "1968-13-01"}, actor=workflow_at_county_a)
    assert invalid.value.status == 400 and invalid.value.issues[0]["expression"] == ["Patient.birthDate"]
    with pytest.raises(FhirError) as anonymous:
        services.resource_create(resource=patient(), actor=ANONYMOUS_ACTOR)
    assert anonymous.value.status == 401
    assert Resource.objects.count() == 0


def test_hooks_see_every_interaction_and_may_refuse(workflow_at_county_a):
    seen = []

    def policy(interaction, resource):
        if interaction.action == "delete":
            raise Forbidden("no deletes here")

    def observer(interaction, status, resource):
        seen.append((interaction.action, status))

    def stamper(interaction, resource):
        resource.setdefault("meta", {})["tag"] = [{"system": "urn:test", "code": "stamped"}]

    hooks.register(hooks.access_policies, policy)
    hooks.register(hooks.interaction_observers, observer)
    hooks.register(hooks.write_stampers, stamper)
    try:
        created = services.resource_create(resource=patient(), actor=workflow_at_county_a)
        with pytest.raises(Forbidden):
            services.resource_delete(
                resource_type="Patient", fhir_id=created.resource["id"], actor=workflow_at_county_a
            )
    finally:
        hooks.access_policies.remove(policy)
        hooks.interaction_observers.remove(observer)
        hooks.write_stampers.remove(stamper)
    assert created.resource["meta"]["tag"][0]["code"] == "stamped"
    assert seen == [("create", 201), ("delete", 403)]


def test_transaction_rewrites_urn_uuids(workflow_at_county_a):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
                "resource": patient(),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "体温"},
                    "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    response = services.bundle_process(bundle=bundle, actor=workflow_at_county_a, base_url="http://hub/fhir")
    assert [e["response"]["status"] for e in response["entry"]] == ["201 Created", "201 Created"]
    patient_id = response["entry"][0]["response"]["location"].split("/")[1]
    observation = Resource.objects.get(resource_type="Observation").content
    assert observation["subject"]["reference"] == f"Patient/{patient_id}"
