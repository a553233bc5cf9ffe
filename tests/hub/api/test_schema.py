"""The OpenAPI schema says what the server does: defaults it accepts, errors and pagination as served."""

from __future__ import annotations

import pytest
import yaml
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in node and len(node["allOf"]) == 1:
        return {**_resolve(schema, node["allOf"][0]), **{k: v for k, v in node.items() if k != "allOf"}}
    return node


def test_no_default_is_a_value_the_server_refuses(schema):
    checked = 0
    for name, component in schema["components"]["schemas"].items():
        for prop, node in (component.get("properties") or {}).items():
            if "default" not in node:
                continue
            resolved = _resolve(schema, node)
            if "enum" in resolved:
                checked += 1
                assert node["default"] in resolved["enum"], f"{name}.{prop} defaults to {node['default']!r}"
    assert checked >= 3
    create = schema["components"]["schemas"]["ReferralCreateInput"]["properties"]  # a new request's body
    assert "default" not in create["study_kind"] and "default" not in create["target_specialty"]


def test_every_operation_documents_its_errors_as_served(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "403", "405", "406"} <= codes, (method, path, codes)
            error = operation["responses"]["401"]["content"]["application/json"]["schema"]
            assert set(_resolve(schema, error)["required"]) == {"error", "detail"}


def test_list_pagination_is_documented_and_served_the_same(schema, token_for, dr_li_at_county_a):
    listing = schema["paths"]["/api/referrals/"]["get"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 200)
    page = _resolve(schema, listing["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(page["required"]) == {"count", "next", "previous", "results"}

    client = Client(**token_for(dr_li_at_county_a))
    served = client.get("/api/referrals/", {"limit": 1}).json()
    assert set(served) == {"count", "next", "previous", "results"}
    for bad in ({"limit": "abc"}, {"limit": 0}, {"limit": 201}, {"offset": -1}, {"urgency": ""}, {"scope": "x"}):
        refused = client.get("/api/referrals/", bad)
        assert refused.status_code == 400, bad
        assert refused.json()["error"] == "invalid"


def test_a_form_encoded_body_is_refused_not_half_read(token_for, dr_li_at_county_a):
    response = Client(**token_for(dr_li_at_county_a)).post("/api/referrals/", {"kind": "consultation"})
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media_type"
