"""Concurrent writers on the real database: no update is lost, racing creates make one resource."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from fhir_gateway import services
from fhir_gateway.models import Resource, ResourceVersion
from tests.fhir_gateway.conftest import patient

pytestmark = pytest.mark.django_db(transaction=True)
WRITERS = 6


def _race(work) -> list:
    """Run ``work(n)`` in WRITERS threads released at once; their results (or exceptions)."""
    barrier = threading.Barrier(WRITERS)
    results: list = [None] * WRITERS

    def run(n: int) -> None:
        try:
            barrier.wait()
            results[n] = work(n)
        except Exception as error:  # reported to the test
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_updates_of_one_resource_are_all_kept(workflow_at_county_a):
    services.resource_update(
        resource_type="Patient", fhir_id="p-race", resource={**patient(), "id": "p-race"}, actor=workflow_at_county_a
    )

    def update(n):
        body = {**patient(given=f"第{n}"), "id": "p-race"}
        return services.resource_update(
            resource_type="Patient", fhir_id="p-race", resource=body, actor=workflow_at_county_a
        )

    results = _race(update)
    assert all(r.status == 200 for r in results), results
    assert sorted(int(r.version_id) for r in results) == list(range(2, WRITERS + 2))
    versions = ResourceVersion.objects.filter(fhir_id="p-race").values_list("version_id", flat=True)
    assert sorted(versions) == list(range(1, WRITERS + 2))
    assert Resource.objects.get(fhir_id="p-race").version_id == WRITERS + 1


def test_concurrent_patches_each_apply_on_the_latest_version(workflow_at_county_a):
    services.resource_update(
        resource_type="Patient",
        fhir_id="p-tags",
        resource={**patient(), "id": "p-tags", "telecom": [{"system": "email", "value": "wang@example.org"}]},
        actor=workflow_at_county_a,
    )

    def patch(n):
        operation = [{"op": "add", "path": "/telecom/-", "value": {"system": "phone", "value": f"1380000000{n}"}}]
        return services.resource_patch(
            resource_type="Patient", fhir_id="p-tags", patch=operation, actor=workflow_at_county_a
        )

    results = _race(patch)
    assert not [r for r in results if isinstance(r, Exception)], results
    telecom = Resource.objects.get(fhir_id="p-tags").content["telecom"]
    assert sorted(t["value"] for t in telecom if t["system"] == "phone") == [f"1380000000{n}" for n in range(WRITERS)]


def test_if_match_lets_exactly_one_of_racing_writers_win(workflow_at_county_a):
    services.resource_update(
        resource_type="Patient", fhir_id="p-once", resource={**patient(), "id": "p-once"}, actor=workflow_at_county_a
    )

    def update(n):
        body = {**patient(given=f"第{n}"), "id": "p-once"}
        return services.resource_update(
            resource_type="Patient", fhir_id="p-once", resource=body, actor=workflow_at_county_a, if_match='W/"1"'
        )

    results = _race(update)
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    assert sum(1 for r in results if getattr(r, "status", None) == 412) == WRITERS - 1


def test_racing_update_as_create_and_conditional_creates_make_one_resource(workflow_at_county_a):
    def put(n):
        return services.resource_update(
            resource_type="Patient", fhir_id="p-new", resource={**patient(), "id": "p-new"}, actor=workflow_at_county_a
        )

    results = _race(put)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.status for r in results) == [200] * (WRITERS - 1) + [201]
    # They all say the same: one version, whoever won the race (no-op updates keep the current version).
    assert {r.version_id for r in results} == {"1"}
    assert ResourceVersion.objects.filter(fhir_id="p-new").count() == 1

    def put_different(n):
        body = {**patient(given=f"第{n}"), "id": "p-new2"}
        return services.resource_update(
            resource_type="Patient", fhir_id="p-new2", resource=body, actor=workflow_at_county_a
        )

    results = _race(put_different)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(int(r.version_id) for r in results) == list(range(1, WRITERS + 1))
    assert sorted(r.status for r in results) == [200] * (WRITERS - 1) + [201]

    def conditional_create(n):
        return services.resource_create(
            resource=patient(mrn="RACE"),
            actor=workflow_at_county_a,
            if_none_exist="identifier=urn:alliance:site:county-a:mrn|RACE",
        )

    results = _race(conditional_create)
    assert sorted(r.status for r in results) == [200] * (WRITERS - 1) + [201]
    assert Resource.objects.filter(content__identifier__contains=[{"value": "RACE"}]).count() == 1


def test_racing_conditional_updates_of_one_record_make_one_resource(workflow_at_county_a):
    criteria = "identifier=urn:alliance:site:county-a:mrn|SYNC1"

    def deliver(n):
        return services.resource_conditional_update(
            resource_type="Patient",
            query=criteria,
            resource=patient(mrn="SYNC1", given=f"第{n}"),
            actor=workflow_at_county_a,
        )

    results = _race(deliver)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.status for r in results) == [200] * (WRITERS - 1) + [201]
    assert Resource.objects.filter(content__identifier__contains=[{"value": "SYNC1"}]).count() == 1
    assert sorted(int(r.version_id) for r in results) == list(range(1, WRITERS + 1))


def test_transactions_touching_the_same_resources_in_opposite_orders_do_not_deadlock(workflow_at_county_a):
    for fhir_id in ("p-x", "p-y"):
        services.resource_update(
            resource_type="Patient", fhir_id=fhir_id, resource={**patient(), "id": fhir_id}, actor=workflow_at_county_a
        )

    def transaction(n):
        order = ("p-x", "p-y") if n % 2 else ("p-y", "p-x")
        entries = [
            {
                "resource": {**patient(given=f"第{n}"), "id": fhir_id},
                "request": {"method": "PUT", "url": f"Patient/{fhir_id}"},
            }
            for fhir_id in order
        ]
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        return services.bundle_process(bundle=bundle, actor=workflow_at_county_a, base_url="http://hub/fhir")

    results = _race(transaction)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {Resource.objects.get(fhir_id=f).version_id for f in ("p-x", "p-y")} == {WRITERS + 1}


def test_concurrent_creates_deletes_and_counts_agree(workflow_at_county_a):
    """Writers racing on one type append their own count deltas; the unfiltered count equals the rows."""
    from fhir_gateway.search import engine

    def count() -> int:
        return engine.search(resource_type="Patient", params=[("_summary", "count")], actor=None, base_url="x")["total"]

    def write(n):
        made = [
            services.resource_create(resource=patient(given=f"{n}-{k}"), actor=workflow_at_county_a).resource["id"]
            for k in range(5)
        ]
        services.resource_delete(resource_type="Patient", fhir_id=made[0], actor=workflow_at_county_a)
        return count()

    results = _race(write)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert all(4 <= total <= WRITERS * 5 for total in results)  # at least its own four
    assert count() == WRITERS * 4 == Resource.objects.filter(resource_type="Patient", deleted=False).count()
