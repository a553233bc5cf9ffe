"""The CapabilityStatement says exactly what is served: the R4 resource types (no R4B-only ones), every operation,
SMART security, the search parameters per type, the patch formats."""

from __future__ import annotations

import pytest

from fhir_gateway import hooks, validation
from fhir_gateway.search import engine
from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db
R4B_ONLY = ("SubscriptionTopic", "Citation", "ClinicalUseDefinition", "Ingredient", "PackagedProductDefinition")
R4_ONLY = ("MedicinalProduct", "EffectEvidenceSynthesis", "RiskEvidenceSynthesis", "SubstanceSpecification")


@pytest.fixture
def statement(client) -> dict:
    return client.get("/fhir/metadata").json()


def test_it_lists_exactly_the_146_r4_resource_types(statement):
    types = [r["type"] for r in statement["rest"][0]["resource"]]
    assert types == sorted(validation.resource_types()) and len(types) == 146
    assert not set(R4B_ONLY) & set(types)
    assert set(R4_ONLY) <= set(types)


def test_r4_only_types_are_served_and_r4b_only_types_refused_alike(fhir):
    created = fhir.post(
        "/fhir/MedicinalProduct", {"resourceType": "MedicinalProduct", "name": [{"productName": "阿司匹林"}]}
    )
    assert created.status_code == 201
    assert fhir.get(f"/fhir/MedicinalProduct/{created.json()['id']}").status_code == 200
    assert fhir.get("/fhir/MedicinalProduct").json()["total"] == 1
    for method, url, body in [
        ("post", "/fhir/SubscriptionTopic", {"resourceType": "SubscriptionTopic", "status": "draft"}),
        ("get", "/fhir/SubscriptionTopic", None),
        ("get", "/fhir/Citation/1", None),
    ]:
        response = getattr(fhir, method)(url, body) if body else getattr(fhir, method)(url)
        assert response.status_code == 404, url
    assert fhir.post("/fhir/Patient", {**patient(), "contained": [{"resourceType": "Citation"}]}).status_code == 400


def test_it_lists_every_operation_with_its_definition(statement):
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    patient_operations = {op["name"]: op["definition"] for op in resources["Patient"]["operation"]}
    assert patient_operations == {
        "validate": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
        "everything": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
        "match": "http://hl7.org/fhir/OperationDefinition/Patient-match",
        "export": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
    }
    group_operations = {op["name"]: op["definition"] for op in resources["Group"]["operation"]}
    assert group_operations["export"] == "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"
    assert statement["rest"][0]["operation"] == [
        {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}
    ]
    subscription_operations = {op["name"]: op["definition"] for op in resources["Subscription"]["operation"]}
    assert subscription_operations["events"].endswith("/backport-subscription-events")
    websocket = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket"
    assert {e["url"]: e["valueUri"] for e in statement["rest"][0]["extension"]}[websocket].startswith("ws://")
    # AuditEvent is the audit trail, served read-only by the hub
    assert {i["code"] for i in resources["AuditEvent"]["interaction"]} <= {"read", "vread", "search-type"}
    others = {t: r for t, r in resources.items() if t not in ("Patient", "Group", "Subscription", "AuditEvent")}
    assert all({op["name"] for op in r["operation"]} == {"validate"} for r in others.values())


def test_security_is_smart_with_the_token_url_and_scopes(statement, client):
    security = statement["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris["token"] == "http://testserver/o/token/"
    assert "system/" in security["description"]
    assert client.post("/o/token/", {"grant_type": "client_credentials"}).status_code in (400, 401)  # it is there


def test_search_parameters_are_those_served(statement):
    for resource in statement["rest"][0]["resource"]:
        provider = hooks.virtual_types.get(resource["type"])  # a type another app serves (AuditEvent)
        found = provider.search_parameters if provider else engine.supported_parameters(resource["type"])
        served = {p["name"] for p in found}
        assert {p["name"] for p in resource.get("searchParam", [])} == served, resource["type"]
    patient_params = {p["name"] for p in statement["rest"][0]["resource"][0]["searchParam"]}
    assert "_id" in patient_params


def test_patch_formats_include_fhirpath_patch(statement):
    assert set(statement["patchFormat"]) == {
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/fhir+json",
    }
