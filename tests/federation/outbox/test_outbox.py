"""The outbox over a real HTTP receiver: written in the caller's transaction, sent after commit, retried with
backoff, ordered per key, held back by the destination's breaker (shared with the sites' sync), swept up
when a worker died, given up as a dead letter after the retry window and sent again on demand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from federation.outbox.breaker import breaker_failure, breaker_open_until, site_destination
from federation.outbox.models import Breaker, MessageState, OutboxMessage
from federation.outbox.policy import DAY, RetryPolicy
from federation.outbox.selectors import outbox_depths
from federation.outbox.services import outbox_deliver, outbox_enqueue, outbox_resend, outbox_sweep
from tests.federation.outbox.receiver import KIND, Receiver, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    register()
    server = Receiver()
    yield server
    server.close()


def enqueue(receiver, capture, n=1, *, ordering_key="", **extra):
    with capture(execute=True), transaction.atomic():
        return [
            outbox_enqueue(kind=KIND, destination="hook:test", payload={"url": receiver.url, "n": i},
                           ordering_key=ordering_key, **extra)
            for i in range(n)
        ]  # fmt: skip


def make_due():
    OutboxMessage.objects.filter(state=MessageState.PENDING).update(next_attempt_at=timezone.now())


def test_a_message_is_sent_once_after_commit_with_its_event_id(receiver, django_capture_on_commit_callbacks):
    [message] = enqueue(receiver, django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert (message.state, message.attempts) == ("delivered", 1)
    assert receiver.received == [{"event_id": str(message.event_id), "url": receiver.url, "n": 0}]
    assert outbox_deliver(message_id=message.pk) == "delivered"  # confirmed: never sent again
    assert outbox_sweep() == 0
    assert len(receiver.received) == 1


def test_nothing_is_sent_for_a_transaction_that_rolls_back(receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox_enqueue(kind=KIND, destination="hook:test", payload={"url": receiver.url})
            raise RuntimeError("the caller's write failed")
    assert callbacks == [] and OutboxMessage.objects.count() == 0 and receiver.received == []


def test_an_event_id_is_written_once(receiver, django_capture_on_commit_callbacks):
    first = enqueue(receiver, django_capture_on_commit_callbacks, event_id="8f0b0a9e-64a4-4a86-9d5d-0a3c1f1f0001")
    again = enqueue(receiver, django_capture_on_commit_callbacks, event_id="8f0b0a9e-64a4-4a86-9d5d-0a3c1f1f0001")
    assert first[0].pk == again[0].pk and OutboxMessage.objects.count() == 1 and len(receiver.received) == 1


def test_a_failing_receiver_is_retried_with_backoff_until_it_takes_the_message(
    receiver, django_capture_on_commit_callbacks
):
    receiver.status = 503
    [message] = enqueue(receiver, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == ("pending", 1, "HTTP 503")
    assert message.next_attempt_at > timezone.now()
    assert outbox_sweep() == 0  # not due yet

    receiver.status = 200
    make_due()
    assert outbox_sweep() == 1
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == ("delivered", 2, "")
    assert [r["event_id"] for r in receiver.received] == [str(message.event_id)]


def test_the_policy_backs_off_exponentially_with_jitter_and_gives_up_after_a_day_at_least(settings):
    policy = RetryPolicy(backoff=10, max_wait=3600)
    waits = [policy.wait(n) for n in range(1, 12)]
    assert 5 <= waits[0] <= 10 and 40 <= waits[3] <= 80 and 1800 <= waits[-1] <= 3600
    settings.OUTBOX = {**settings.OUTBOX, "give_up_after": 60}
    assert RetryPolicy.outbox().give_up_after == DAY
    now = timezone.now()
    assert not RetryPolicy.outbox().gives_up(since=now - timedelta(hours=23), now=now)
    assert RetryPolicy.outbox().gives_up(since=now - timedelta(hours=24), now=now)


def test_after_the_retry_window_it_is_a_dead_letter_with_its_reason_and_can_be_sent_again(
    receiver, django_capture_on_commit_callbacks
):
    receiver.status = 502
    [message] = enqueue(receiver, django_capture_on_commit_callbacks)
    OutboxMessage.objects.filter(pk=message.pk).update(retry_from=timezone.now() - timedelta(days=3))
    make_due()
    outbox_sweep()
    message.refresh_from_db()
    assert message.state == "dead" and message.dead_reason.startswith("gave up after 2 attempts")
    assert "HTTP 502" in message.dead_reason
    assert outbox_depths() == [(KIND, "dead", 1)]

    receiver.status = 200
    Breaker.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        outbox_resend(message_id=message.pk)
    message.refresh_from_db()
    assert (message.state, message.attempts, message.dead_reason) == ("delivered", 3, "")
    assert len(receiver.received) == 1


def test_a_refusal_is_a_dead_letter_at_once(receiver, django_capture_on_commit_callbacks):
    receiver.status = 400
    [message] = enqueue(receiver, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert (message.state, message.dead_reason) == ("dead", "refused: HTTP 400: refused")
    assert not Breaker.objects.filter(destination="hook:test", consecutive_failures__gt=0).exists()


def test_messages_of_one_ordering_key_go_in_order(receiver, django_capture_on_commit_callbacks):
    receiver.status = 503
    first, second, third = enqueue(receiver, django_capture_on_commit_callbacks, 3, ordering_key="subscription:1")
    assert outbox_deliver(message_id=second.pk) == "waiting"
    receiver.status = 200
    make_due()
    OutboxMessage.objects.update(queued_at=None)
    outbox_sweep()
    assert [r["n"] for r in receiver.received] == [0, 1, 2]


def test_a_destination_that_keeps_failing_opens_its_breaker_and_messages_wait_for_the_probe(
    receiver, django_capture_on_commit_callbacks
):
    receiver.status = 503
    enqueue(receiver, django_capture_on_commit_callbacks, 3)  # three failures in a row: the breaker opens
    assert breaker_open_until("hook:test")
    [later] = enqueue(receiver, django_capture_on_commit_callbacks)
    later.refresh_from_db()
    assert later.attempts == 0 and later.next_attempt_at >= breaker_open_until("hook:test") - timedelta(seconds=1)
    assert receiver.received == []


def test_the_sites_sync_and_the_outbox_share_one_breaker_per_site(county_a):
    from federation.sites.health import health_failure, syncs_due
    from federation.sites.sync_config import SiteSync

    sync = SiteSync.objects.create(site=county_a, base_url="http://127.0.0.1:9/fhir")
    assert sync.pk in syncs_due()
    for _ in range(3):  # deliveries of signed opinions to county A fail
        breaker_failure(site_destination("county-a"), error="HTTP 503")
    assert sync.pk not in syncs_due()  # the sync leaves the site alone too

    health_failure(sync=sync, error="timeout")
    sync.refresh_from_db()
    assert (sync.state, sync.consecutive_failures) == ("down", 4)


def test_a_message_whose_worker_died_is_sent_again_by_the_sweeper(receiver, django_capture_on_commit_callbacks):
    receiver.status = 503
    [message] = enqueue(receiver, django_capture_on_commit_callbacks)
    receiver.status = 200
    # a worker claimed it (attempt 2) and was killed before it recorded anything
    OutboxMessage.objects.filter(pk=message.pk).update(
        state="sending", attempts=2, locked_until=timezone.now() + timedelta(seconds=30)
    )
    assert outbox_sweep() == 0  # its lease still runs
    OutboxMessage.objects.filter(pk=message.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert outbox_sweep() == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("delivered", 3)
    assert len(receiver.received) == 1
