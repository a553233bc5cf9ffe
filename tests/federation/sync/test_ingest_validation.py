"""Records from the sites pass the gateway's one validator: a pushed transaction with an invalid record is
refused whole, a pushed batch reports that entry, and a pulled invalid record is dead-lettered with the
validator's issues while the rest is stored."""

from __future__ import annotations

import pytest

from federation.sync.models import DeadLetter
from federation.sync.pull import site_sync_run
from fhir_gateway.models import Resource
from fhir_gateway.validation.messages import MESSAGE_ID

pytestmark = pytest.mark.django_db
FHIR = "application/fhir+json"
SCRIPT = '<div xmlns="http://www.w3.org/1999/xhtml"><a href="javascript:steal()">报告</a></div>'


def _rules(outcome: dict) -> set[str]:
    return {e["valueString"] for i in outcome["issue"] for e in i.get("extension", []) if e["url"] == MESSAGE_ID}


def _bundle(kind: str) -> dict:
    good = {"resourceType": "Patient", "id": "p1", "name": [{"family": "王"}], "gender": "female"}
    bad = {
        "resourceType": "Patient",
        "id": "p2",
        "name": [{"family": "李"}],
        "gender": "x",
        "text": {"status": "generated", "div": SCRIPT},
    }
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {"resource": good, "request": {"method": "PUT", "url": "Patient/p1"}},
            {"resource": bad, "request": {"method": "PUT", "url": "Patient/p2"}},
        ],
    }


def test_a_pushed_transaction_with_an_invalid_record_is_refused_whole(client, county_a, token_of):
    response = client.post(
        "/federation/fhir", _bundle("transaction"), content_type=FHIR, **token_of(county_a, ["system/*.write"])
    )

    assert response.status_code == 400
    assert {"binding-required", "narrative-url"} <= _rules(response.json())
    assert not Resource.objects.filter(owner="county-a").exists()


def test_a_pushed_batch_reports_the_invalid_record_with_its_index(client, county_a, token_of):
    response = client.post(
        "/federation/fhir", _bundle("batch"), content_type=FHIR, **token_of(county_a, ["system/*.write"])
    )

    assert response.status_code == 200
    entries = response.json()["entry"]
    assert [e["response"]["status"][:3] for e in entries[:2]] == ["201", "400"]
    assert {"binding-required", "narrative-url"} <= _rules(entries[1]["response"]["outcome"])
    assert Resource.objects.filter(resource_type="Patient", owner="county-a").count() == 1


def test_a_pulled_invalid_record_is_dead_lettered_with_the_validators_issues(sync_a, site_a_server):
    site_a_server.store.put(
        {"resourceType": "Observation", "id": "bad-status", "status": "not-a-status", "code": {"text": "血压"}}
    )

    run = site_sync_run(sync_id=sync_a.pk)

    assert run.ok and run.dead_lettered == 1
    letter = DeadLetter.objects.get(site_code="county-a", source_id="bad-status")
    assert "binding-required" in _rules(letter.error)
    stored = Resource.objects.filter(owner="county-a").exclude(resource_type="Provenance")
    assert stored.count() == site_a_server.store.count() - 1
