"""Pulling from simulated county sites over real HTTP into the gateway on PostgreSQL."""

from __future__ import annotations

import random

import pytest

from federation.simulator.data import records_change
from federation.sites.sync_config import HealthState
from federation.sync.models import DeadLetter, SyncCursor
from federation.sync.pull import dead_letter_retry, site_sync_run
from fhir_gateway.models import Resource, ResourceVersion

pytestmark = pytest.mark.django_db(transaction=True)


def _hub_count(site: str, resource_type: str | None = None) -> int:
    rows = Resource.objects.filter(owner=site, deleted=False).exclude(resource_type="Provenance")
    return rows.filter(resource_type=resource_type).count() if resource_type else rows.count()


def test_a_first_full_sync_stores_every_record_with_its_source(sync_a, site_a_server):
    run = site_sync_run(sync_id=sync_a.pk)

    assert run.ok and run.dead_lettered == 0
    assert _hub_count("county-a") == site_a_server.store.count() == 60
    patient = Resource.objects.get(resource_type="Patient", fhir_id="county-a-a0000003").content
    assert patient["meta"]["source"] == f"{site_a_server.base_url}/Patient/a0000003/_history/1"
    observation = Resource.objects.filter(resource_type="Observation", owner="county-a").first().content
    assert observation["subject"]["reference"].startswith("Patient/county-a-")
    assert Resource.objects.filter(resource_type="Provenance", owner="county-a").exists()
    sync_a.refresh_from_db()
    assert sync_a.state == HealthState.HEALTHY and sync_a.last_success_at is not None


def test_an_incremental_sync_brings_only_the_changes(sync_a, site_a_server):
    site_sync_run(sync_id=sync_a.pk)
    versions_before = ResourceVersion.objects.filter(owner="county-a").exclude(resource_type="Provenance").count()
    changed = set(records_change(site_a_server.store, random.Random(5), count=6))

    run = site_sync_run(sync_id=sync_a.pk)

    assert run.ok
    assert run.stored == len(changed)
    assert _hub_count("county-a") == site_a_server.store.count()
    # Only the changed records got a new version; unchanged ones met at the cursor were skipped.
    versions_after = ResourceVersion.objects.filter(owner="county-a").exclude(resource_type="Provenance").count()
    assert versions_after - versions_before == len(changed)


def test_a_site_going_down_mid_sync_resumes_with_nothing_lost_or_doubled(sync_a, site_a_server):
    site_a_server.failures.fail_after = 3  # three pages, then the site is gone

    first = site_sync_run(sync_id=sync_a.pk)

    assert not first.ok and first.pages == 3
    sync_a.refresh_from_db()
    assert sync_a.state == HealthState.DEGRADED and sync_a.consecutive_failures == 1
    partial = _hub_count("county-a")
    assert 0 < partial < site_a_server.store.count()

    site_a_server.failures.down = False
    second = site_sync_run(sync_id=sync_a.pk)

    assert second.ok
    assert _hub_count("county-a") == site_a_server.store.count()
    assert Resource.objects.filter(resource_type="Patient", owner="county-a").count() == 12
    # Nothing stored twice: every non-Provenance resource has exactly one version.
    assert not ResourceVersion.objects.exclude(resource_type="Provenance").filter(version_id__gt=1).exists()


def test_retries_ride_over_a_few_errors_and_mark_the_site_degraded(sync_a, site_a_server):
    site_a_server.failures.errors = 2

    run = site_sync_run(sync_id=sync_a.pk)

    assert run.ok
    sync_a.refresh_from_db()
    assert sync_a.state == HealthState.DEGRADED


def test_repeated_failures_open_the_circuit_until_the_probe(sync_a, site_a_server):
    from federation.sites.health import syncs_due

    site_a_server.failures.down = True
    for _ in range(3):
        assert not site_sync_run(sync_id=sync_a.pk).ok

    sync_a.refresh_from_db()
    assert sync_a.state == HealthState.DOWN and sync_a.next_attempt_at is not None
    assert sync_a.pk not in syncs_due()
    assert "RemoteProtocolError" in sync_a.last_error


def test_an_invalid_record_is_dead_lettered_and_the_rest_stored(sync_a, site_a_server):
    site_a_server.invalid_add("broken-1")

    run = site_sync_run(sync_id=sync_a.pk)

    assert run.ok and run.dead_lettered == 1
    letter = DeadLetter.objects.get(site_code="county-a")
    assert letter.source_id == "broken-1" and letter.error["resourceType"] == "OperationOutcome"
    assert _hub_count("county-a") == site_a_server.store.count() - 1
    sync_a.refresh_from_db()
    assert sync_a.state == HealthState.DEGRADED

    # The site fixes its record; the retry stores it and resolves the letter.
    site_a_server.store.put(
        {"resourceType": "Observation", "id": "broken-1", "status": "final", "code": {"text": "血压"}}
    )
    assert dead_letter_retry(letter=letter)
    letter.refresh_from_db()
    assert letter.resolved
    assert Resource.objects.filter(resource_type="Observation", fhir_id="county-a-broken-1").exists()


def test_cursors_only_move_past_committed_pages(sync_a, site_a_server):
    site_sync_run(sync_id=sync_a.pk)

    cursors = dict(SyncCursor.objects.filter(sync=sync_a).values_list("resource_type", "since"))

    newest = max(r["meta"]["lastUpdated"] for r in site_a_server.store.resources["Observation"].values())
    assert cursors["Observation"] == newest


def test_the_probe_after_the_breaker_opened_brings_a_recovered_site_back(sync_a, site_a_server):
    from datetime import timedelta

    from django.utils import timezone

    from federation.sites.health import syncs_due

    site_a_server.failures.down = True
    for _ in range(3):
        site_sync_run(sync_id=sync_a.pk)
    site_a_server.failures.down = False
    sync_a.refresh_from_db()
    sync_a.next_attempt_at = timezone.now() - timedelta(seconds=1)  # the probe is due
    sync_a.save(update_fields=["next_attempt_at"])

    assert sync_a.pk in syncs_due()
    assert site_sync_run(sync_id=sync_a.pk).ok
    sync_a.refresh_from_db()
    assert sync_a.state == HealthState.HEALTHY and sync_a.consecutive_failures == 0 and sync_a.next_attempt_at is None


def test_workers_can_share_a_site_by_resource_type(sync_a, site_a_server):
    patients = site_sync_run(sync_id=sync_a.pk, resource_types=["Patient"])
    rest = site_sync_run(sync_id=sync_a.pk, resource_types=["Encounter", "Condition", "Observation"])

    assert patients.fetched == 12 and rest.fetched == 48
    assert _hub_count("county-a") == site_a_server.store.count()


def test_a_type_being_synced_elsewhere_is_not_synced_twice(sync_a):
    import psycopg
    from django.db import connection

    from federation.sync.pull import _lock_key

    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"] or None, dbname=db["NAME"]
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [_lock_key(sync_a.pk, "Patient")])

        assert site_sync_run(sync_id=sync_a.pk, resource_types=["Patient"]) is None
