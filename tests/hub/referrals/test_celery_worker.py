"""A real Celery worker on Redis delivers opinions through the outbox with retries: skipped when ``REDIS_URL``
is unset."""

from __future__ import annotations

import time

import pytest

from federation.simulator.server import SiteSimulator
from federation.sites.sync_config import SiteSync
from hub.referrals import services
from hub.referrals.models import Opinion
from tests.factories import with_signing_pin

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(celery_worker_on_redis, settings):
    settings.OUTBOX = {**settings.OUTBOX, "backoff": 0.2, "max_wait": 1}
    return celery_worker_on_redis


def test_a_worker_retries_until_the_county_site_takes_the_opinion(
    worker, county_a, dr_li_at_county_a, cardiologist_zhang, patient_at_county_a
):
    sim = SiteSimulator(site="county-a").start()
    try:
        SiteSync.objects.create(site=county_a, base_url=sim.base_url)
        sim.failures.errors = 2
        referral = services.referral_create(
            requester=dr_li_at_county_a,
            kind="consultation",
            urgency="urgent",
            pathway="chest_pain",
            patient_ref=f"Patient/{patient_at_county_a['id']}",
            clinical_question="胸痛",
            consent=services.ConsentGiven(),
        )
        services.task_accept(referral_id=referral.pk, actor=cardiologist_zhang)
        opinion = services.opinion_sign(
            referral_id=referral.pk,
            actor=cardiologist_zhang,
            conclusion="急诊PCI",
            pin=with_signing_pin(cardiologist_zhang),
        )

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Opinion.objects.get(pk=opinion.pk).delivery_status != "delivered":
            time.sleep(0.2)
    finally:
        sim.stop()

    opinion.refresh_from_db()
    assert (opinion.delivery_status, opinion.delivery_attempts) == ("delivered", 3)
    assert opinion.delivery_error == ""
    assert len(sim.store.resources["Composition"]) == 1
