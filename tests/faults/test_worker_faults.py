"""A Celery worker killed (SIGKILL) in the middle of a site's sync: the next beat tick finishes the sync on
another worker, and the hub holds every record of the site exactly once."""

from __future__ import annotations

import time

import pytest
from celery import Celery

from federation.simulator.data import site_populate
from federation.simulator.server import SiteSimulator
from tests.faults.conftest import wait_for

pytestmark = pytest.mark.redis


def _site_sync(hub, site_code: str, base_url: str) -> int:
    code = "\n".join(
        [
            "from federation.sites.models import Site",
            "from federation.sites.sync_config import SiteSync",
            "alliance, _ = Site.objects.get_or_create(code='alliance', "
            "defaults={'name': 'alliance', 'kind': 'alliance'})",
            f"site, _ = Site.objects.get_or_create(code={site_code!r}, "
            f"defaults={{'name': {site_code!r}, 'kind': 'county', 'parent': alliance}})",
            f"sync, _ = SiteSync.objects.update_or_create(site=site, defaults={{'base_url': {base_url!r}, "
            "'page_size': 10, 'interval_seconds': 1, 'timeout_seconds': 5})",
            "print(sync.pk)",
        ]
    )
    return int(hub.manage("shell", "-c", code).strip().splitlines()[-1])


def _stored(private_postgres, owner: str, types=("Patient", "Encounter", "Condition", "Observation")) -> dict:
    """The site's records at the hub by type (the Provenance the hub adds per page left out)."""
    rows = private_postgres.query(
        "SELECT resource_type, count(*) FROM fhir_gateway_resource WHERE owner = %s AND NOT deleted "
        "AND resource_type = ANY(%s) GROUP BY 1",
        [owner, list(types)],
    )
    return dict(rows)


def test_a_worker_killed_mid_sync_leaves_nothing_lost_or_doubled(private_postgres, private_redis, fault_hub):
    simulator = SiteSimulator(site="county-k").start()
    try:
        site_populate(simulator.store, site="county-k", region="411321", district="东川县", patients=40,
                      records_per_patient=3)  # fmt: skip
        expected = {rtype: len(records) for rtype, records in simulator.store.resources.items() if records}
        sync_id = _site_sync(fault_hub, "county-k", simulator.base_url)
        simulator.failures.delay = 0.3  # slow pages: the kill lands in the middle of the sync

        client = Celery("faults-client", broker=private_redis.url, set_as_current=False)
        client.conf.task_default_queue = "celery"
        fault_hub.worker("worker-a")
        wait_for(lambda: len(client.control.ping(timeout=1) or []) >= 1, "worker a", 60)
        client.send_task("federation.site_sync", args=[sync_id])
        wait_for(lambda: sum(_stored(private_postgres, "county-k").values()) >= 20, "a few pages stored", 120)
        fault_hub.kill("worker-a")
        partial = sum(_stored(private_postgres, "county-k").values())
        assert partial < sum(expected.values()), "the sync finished before the kill"

        simulator.failures.delay = 0.0
        fault_hub.worker("worker-b")
        wait_for(lambda: len(client.control.ping(timeout=1) or []) >= 1, "worker b", 60)
        time.sleep(1.5)  # the site's interval (1 s) has passed: beat would queue it again now
        client.send_task("federation.sync_due_sites")
        wait_for(lambda: _stored(private_postgres, "county-k") == expected, "the sync caught up", 180)
        client.close()
    finally:
        simulator.stop()

    versions = private_postgres.query(
        "SELECT r.resource_type, r.fhir_id, count(v.id) FROM fhir_gateway_resource r "
        "JOIN fhir_gateway_resourceversion v ON v.resource_id = r.id WHERE r.owner = 'county-k' "
        "AND r.resource_type <> 'Provenance' GROUP BY 1, 2 HAVING count(v.id) > 1"
    )
    assert versions == [], "a record fetched again was stored as a new version"
    linked = private_postgres.query("SELECT count(*), count(DISTINCT patient_id) FROM federation_mpirecord "
                                    "WHERE site_code = 'county-k'")  # fmt: skip
    assert linked == [(40, 40)]
