"""Per-process caches of SLA targets, target sites and departments: cleared by writes, never stale after a rollback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from hub.referrals import caches
from hub.referrals.models import SlaPolicy
from hub.referrals.sla import sla_target

pytestmark = pytest.mark.django_db


def test_a_cached_value_is_kept_until_a_write_is_committed(django_capture_on_commit_callbacks):
    cache = caches.ProcessCache("test")
    loads = []

    def load():
        loads.append(1)
        return len(loads)

    assert (cache.get("k", load), cache.get("k", load)) == (1, 1)
    with django_capture_on_commit_callbacks(execute=True):
        cache.written()
        assert cache.get("k", load) == 2  # not committed yet: read through, not kept
        assert cache.get("k", load) == 3
    assert (cache.get("k", load), cache.get("k", load)) == (4, 4)


def test_a_rolled_back_write_leaves_the_cache_bypassed():
    cache = caches.ProcessCache("test")
    values = iter(range(100))
    assert cache.get("k", lambda: next(values)) == 0
    with transaction.atomic():
        cache.written()
        transaction.set_rollback(True)
    assert (cache.get("k", lambda: next(values)), cache.get("k", lambda: next(values))) == (1, 2)


def test_an_sla_policy_saved_or_deleted_is_seen_at_once(django_capture_on_commit_callbacks):
    assert sla_target(urgency="urgent", pathway="stroke") == (timedelta(hours=2), timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        policy = SlaPolicy.objects.create(urgency="urgent", pathway="stroke", accept_within_minutes=30)
    assert sla_target(urgency="urgent", pathway="stroke") == (timedelta(minutes=30), timedelta(minutes=30))
    with django_capture_on_commit_callbacks(execute=True):
        policy.delete()
    assert sla_target(urgency="urgent", pathway="stroke") == (timedelta(hours=2), timedelta(hours=2))


@pytest.mark.django_db(transaction=True)
def test_after_a_rolled_back_transaction_the_cache_serves_again():
    cache = caches.ProcessCache("test")
    values = iter(range(100))
    assert cache.get("k", lambda: next(values)) == 0
    with transaction.atomic():
        cache.written()
        assert cache.get("k", lambda: next(values)) == 1  # the writing transaction reads through
        transaction.set_rollback(True)
    # The transaction is over: the cache was cleared (nothing of the rolled-back write is kept) and serves again.
    assert (cache.get("k", lambda: next(values)), cache.get("k", lambda: next(values))) == (2, 2)
