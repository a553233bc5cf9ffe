"""A county site that answers slowly (past the timeout) or with garbage: the sync gives up cleanly, health
says so, the hub's own requests are not held up, and the next sync catches up with nothing doubled."""

from __future__ import annotations

import threading
import time

import pytest

from federation.sites.sync_config import HealthState
from federation.sync.pull import site_sync_run
from fhir_gateway.models import Resource, ResourceVersion

pytestmark = pytest.mark.django_db(transaction=True)


def _hub_count(site: str) -> int:
    return Resource.objects.filter(owner=site, deleted=False).exclude(resource_type="Provenance").count()


def _nothing_doubled() -> bool:
    return not ResourceVersion.objects.exclude(resource_type="Provenance").filter(version_id__gt=1).exists()


def test_a_site_slower_than_the_timeout_is_given_up_and_caught_up_later(
    sync_a, site_a_server, client, admin_of_county_a, token_for
):
    sync_a.timeout_seconds = 0.5
    sync_a.save(update_fields=["timeout_seconds"])
    site_a_server.failures.delay = 1.5  # every answer takes longer than the hub waits

    outcome = {}
    syncing = threading.Thread(target=lambda: outcome.update(run=site_sync_run(sync_id=sync_a.pk)))
    syncing.start()
    # Meanwhile the hub answers its users (a slow site holds up only its own sync): the answer comes while
    # the sync is still waiting for the site.
    time.sleep(0.2)
    health = client.get("/federation/sites/health", **token_for(admin_of_county_a))
    assert health.status_code == 200
    assert syncing.is_alive()
    syncing.join(120)

    assert not outcome["run"].ok
    sync_a.refresh_from_db()
    assert sync_a.state in (HealthState.DEGRADED, HealthState.DOWN)
    assert "Timeout" in sync_a.last_error
    assert _hub_count("county-a") == 0

    site_a_server.failures.delay = 0.0
    assert site_sync_run(sync_id=sync_a.pk).ok
    assert _hub_count("county-a") == site_a_server.store.count()
    assert _nothing_doubled()


def test_garbage_from_a_site_is_an_error_of_that_site_not_of_the_hub(sync_a, site_a_server):
    import random

    from federation.simulator.data import records_change

    site_sync_run(sync_id=sync_a.pk)  # a first sync brings everything
    changed = records_change(site_a_server.store, random.Random(3), count=5)
    site_a_server.failures.garbage = 10  # more than the retries: this sync cannot get through

    run = site_sync_run(sync_id=sync_a.pk)

    assert not run.ok
    sync_a.refresh_from_db()
    assert sync_a.state in (HealthState.DEGRADED, HealthState.DOWN)
    assert sync_a.last_error

    site_a_server.failures.garbage = 0
    again = site_sync_run(sync_id=sync_a.pk)
    assert again.ok and again.stored == len(changed)
    assert _hub_count("county-a") == site_a_server.store.count()
