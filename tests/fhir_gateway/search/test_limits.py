"""What one search may ask for: ``_count`` up to 1000, chains 3 links deep, 100 parameters, a ``_search`` form body
of 64 KiB. Past a limit the answer is an OperationOutcome 4xx (``too-costly``), never a slow query or a 500."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db


def _outcome(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]


@pytest.mark.parametrize(
    "url",
    ["/fhir/Patient?_count=1001", "/fhir/_history?_count=5000", "/fhir/Patient/_history?_count=1001"],
)
def test_a_count_above_the_limit_is_refused(fhir, url):
    issue = _outcome(fhir.get(url), 400)
    assert issue["code"] == "too-costly" and "1000" in issue["diagnostics"]


def test_a_count_at_the_limit_is_served(fhir):
    fhir.put("/fhir/Patient/county-a-p1", {**patient(), "id": "county-a-p1"})
    bundle = fhir.get("/fhir/Patient?_count=1000").json()
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) == 1


def test_everything_refuses_a_count_above_the_limit(fhir):
    fhir.put("/fhir/Patient/county-a-p1", {**patient(), "id": "county-a-p1"})
    _outcome(fhir.get("/fhir/Patient/county-a-p1/$everything?_count=100000"), 400)


def test_a_chain_three_links_deep_is_served_and_four_is_refused(fhir):
    three = fhir.get("/fhir/Observation?" + urlencode({"subject:Patient.organization.partof.name": "x"}))
    assert three.status_code == 200, three.content[:500]
    four = fhir.get("/fhir/Observation?" + urlencode({"subject:Patient.organization.partof.partof.name": "x"}))
    issue = _outcome(four, 400)
    assert issue["code"] == "too-costly" and issue["expression"] == ["subject:Patient.organization.partof.partof.name"]


def test_nested_has_counts_as_chain_links(fhir):
    deep = "_has:Observation:subject:_has:Provenance:target:_has:AuditEvent:entity:_has:Provenance:target:agent"
    _outcome(fhir.get("/fhir/Patient?" + urlencode({deep: "x"})), 400)


def test_more_than_a_hundred_parameters_are_refused(fhir):
    query = urlencode([("family", f"n{i}") for i in range(101)])
    issue = _outcome(fhir.get(f"/fhir/Patient?{query}"), 400)
    assert issue["code"] == "too-costly"


def test_a_search_body_past_the_limit_is_413(fhir, settings):
    settings.FHIR_SEARCH_MAX_BODY_BYTES = 2048
    small = fhir.post("/fhir/Patient/_search", "family=" + "x" * 100, content_type="application/x-www-form-urlencoded")
    assert small.status_code == 200, small.content[:300]
    large = fhir.post("/fhir/Patient/_search", "family=" + "x" * 4000, content_type="application/x-www-form-urlencoded")
    assert _outcome(large, 413)["code"] == "too-costly"


def test_a_search_body_counts_its_parameters_with_the_query(fhir):
    body = urlencode([("family", f"n{i}") for i in range(60)])
    answer = fhir.post(
        "/fhir/Patient/_search?" + urlencode([("given", f"g{i}") for i in range(50)]),
        body,
        content_type="application/x-www-form-urlencoded",
    )
    _outcome(answer, 400)
