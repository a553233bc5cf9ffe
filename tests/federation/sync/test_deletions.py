"""Records deleted at a county site are deleted at the hub: through the site's history, or by reconciling
ids when it has none; history and provenance are kept, the patient index forgets deleted Patients."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from federation.identity.models import LinkAction, LinkEvent, MpiRecord
from federation.simulator.server import SiteSimulator
from federation.sites.sync_config import SiteSync
from federation.sync.models import SyncRun
from federation.sync.pull import site_sync_run
from fhir_gateway.models import Resource, ResourceVersion

pytestmark = pytest.mark.django_db(transaction=True)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def _at_hub(site: str, resource_type: str, source_id: str) -> Resource:
    return Resource.objects.get(resource_type=resource_type, fhir_id=f"{site}-{source_id}")


def _first(store, resource_type: str) -> str:
    return sorted(store.resources[resource_type])[0]


def test_a_record_deleted_at_the_site_is_deleted_at_the_hub_with_its_history(sync_a, site_a_server):
    assert site_sync_run(sync_id=sync_a.pk).ok
    gone = _first(site_a_server.store, "Observation")
    kept = sorted(site_a_server.store.resources["Observation"])[1]

    site_a_server.store.delete("Observation", gone)
    run = site_sync_run(sync_id=sync_a.pk)

    assert run.ok and run.deleted == 1
    deleted = _at_hub("county-a", "Observation", gone)
    assert deleted.deleted
    assert not _at_hub("county-a", "Observation", kept).deleted
    versions = ResourceVersion.objects.filter(resource_type="Observation", fhir_id=deleted.fhir_id).order_by(
        "version_id"
    )
    assert [v.method for v in versions] == ["PUT", "DELETE"]  # the history stays
    provenance = [
        r.content for r in Resource.objects.filter(resource_type="Provenance", owner="county-a", deleted=False)
        if r.content["activity"]["coding"][0]["code"] == "DELETE"
    ]  # fmt: skip
    assert [t["reference"] for t in provenance[0]["target"]] == [f"Observation/{deleted.fhir_id}"]
    # Searching no longer finds it; a second run deletes nothing more.
    assert site_sync_run(sync_id=sync_a.pk).deleted == 0


def test_a_deleted_patient_leaves_the_patient_index(sync_a, site_a_server):
    assert site_sync_run(sync_id=sync_a.pk).ok
    patient = _first(site_a_server.store, "Patient")
    assert MpiRecord.objects.filter(patient_id=f"county-a-{patient}").exists()

    site_a_server.store.delete("Patient", patient)
    assert site_sync_run(sync_id=sync_a.pk).deleted == 1

    assert _at_hub("county-a", "Patient", patient).deleted
    assert not MpiRecord.objects.filter(patient_id=f"county-a-{patient}").exists()
    assert LinkEvent.objects.filter(action=LinkAction.REMOVE).count() == 1


def test_a_site_without_history_is_reconciled(county_b):
    from federation.simulator.data import site_populate

    site = SiteSimulator(site="county-b", history=False).start()
    try:
        site_populate(site.store, site="county-b", region="411322", district="西河县", patients=10,
                      records_per_patient=3)  # fmt: skip
        sync = SiteSync.objects.create(site=county_b, base_url=site.base_url, page_size=10, reconcile_seconds=1)
        assert site_sync_run(sync_id=sync.pk).ok
        gone = _first(site.store, "Encounter")
        site.store.delete("Encounter", gone)
        SiteSync.objects.filter(pk=sync.pk).update(last_reconciled_at=LONG_AGO)

        run = site_sync_run(sync_id=sync.pk)
    finally:
        site.stop()
    assert run.ok and run.deleted == 1
    assert _at_hub("county-b", "Encounter", gone).deleted
    assert Resource.objects.filter(resource_type="Encounter", owner="county-b", deleted=False).count() == 9


def test_a_reconciliation_that_would_delete_too_much_deletes_nothing_until_forced(county_b):
    from federation.simulator.data import site_populate

    site = SiteSimulator(site="county-b", history=False).start()
    try:
        site_populate(site.store, site="county-b", region="411322", district="西河县", patients=10,
                      records_per_patient=3)  # fmt: skip
        sync = SiteSync.objects.create(site=county_b, base_url=site.base_url, page_size=10, reconcile_seconds=1)
        assert site_sync_run(sync_id=sync.pk).ok
        for source_id in sorted(site.store.resources["Condition"])[:6]:  # a site restored from an old backup
            site.store.delete("Condition", source_id)
        SiteSync.objects.filter(pk=sync.pk).update(last_reconciled_at=LONG_AGO)

        run = site_sync_run(sync_id=sync.pk)
        sync.refresh_from_db()
        assert run.ok and run.deleted == 0
        assert "would delete 6 of 10" in sync.last_error and sync.state == "degraded"
        assert Resource.objects.filter(resource_type="Condition", owner="county-b", deleted=False).count() == 10

        call_command("site_reconcile", site="county-b", types=["Condition"], force=True)
    finally:
        site.stop()
    assert Resource.objects.filter(resource_type="Condition", owner="county-b", deleted=False).count() == 4


def test_a_listing_that_fails_part_way_deletes_nothing(county_b):
    from federation.simulator.data import site_populate

    site = SiteSimulator(site="county-b", history=False).start()
    try:
        site_populate(site.store, site="county-b", region="411322", district="西河县", patients=30,
                      records_per_patient=1)  # fmt: skip
        sync = SiteSync.objects.create(
            site=county_b, base_url=site.base_url, page_size=10, reconcile_seconds=1, resource_types=["Patient"]
        )
        assert site_sync_run(sync_id=sync.pk).ok
        site.store.delete("Patient", _first(site.store, "Patient"))
        SiteSync.objects.filter(pk=sync.pk).update(last_reconciled_at=LONG_AGO)
        site.failures.fail_after = 3  # metadata, the page of changes, one page of ids of three: then gone

        run = site_sync_run(sync_id=sync.pk)
    finally:
        site.stop()
    assert not run.ok
    # Twenty ids it never listed are not taken for deleted, nor is the one it did delete (next time).
    assert Resource.objects.filter(resource_type="Patient", owner="county-b", deleted=False).count() == 30
    assert SyncRun.objects.filter(sync=sync, deleted__gt=0).count() == 0
