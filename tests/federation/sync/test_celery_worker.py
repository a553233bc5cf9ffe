"""A real Celery worker and broker (Redis) run a site's sync: skipped when ``REDIS_URL`` is unset."""

from __future__ import annotations

import time

import pytest

from federation.sync.models import SyncRun
from fhir_gateway.models import Resource

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_the_beat_task_queues_a_sync_that_a_worker_runs(celery_worker_on_redis, sync_a, site_a_server):
    from federation.tasks import sync_due_sites

    sync_due_sites.delay()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not SyncRun.objects.filter(sync=sync_a, finished_at__isnull=False).exists():
        time.sleep(0.2)
    run = SyncRun.objects.get(sync=sync_a)
    assert run.ok
    assert Resource.objects.filter(owner="county-a").exclude(resource_type="Provenance").count() == 60
