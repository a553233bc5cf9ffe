"""A real Celery worker and broker (Redis) run a site's sync: skipped when ``REDIS_URL`` is unset."""

from __future__ import annotations

import os
import time

import pytest

from federation.sync.models import SyncRun
from fhir_gateway.models import Resource

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_on_redis():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    from celery.contrib.testing.worker import start_worker

    from hub.celery import app

    saved = (app.conf.broker_url, app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.broker_url, app.conf.task_always_eager = url, False
    app.conf.task_default_queue = f"federation-test-{os.getpid()}"  # never steal another suite's tasks
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            yield app
    finally:
        app.conf.broker_url, app.conf.task_always_eager, app.conf.task_default_queue = saved


def test_the_beat_task_queues_a_sync_that_a_worker_runs(celery_worker_on_redis, sync_a, site_a_server):
    from federation.tasks import sync_due_sites

    sync_due_sites.delay()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not SyncRun.objects.filter(sync=sync_a, finished_at__isnull=False).exists():
        time.sleep(0.2)
    run = SyncRun.objects.get(sync=sync_a)
    assert run.ok
    assert Resource.objects.filter(owner="county-a").exclude(resource_type="Provenance").count() == 60
