"""The outbox's depth by kind and state, as Prometheus scrapes it (``hub_outbox_messages``)."""

from __future__ import annotations

import httpx
import pytest
from django.utils import timezone

from federation.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)


def test_undelivered_messages_are_counted_by_kind_and_state(live_hub):
    now = timezone.now()
    for state in ("pending", "pending", "dead", "delivered"):
        OutboxMessage.objects.create(
            kind="referrals.opinion", destination="site:county-a", state=state, retry_from=now, next_attempt_at=now
        )

    text = httpx.get(f"{live_hub}/metrics").text

    assert 'hub_outbox_messages{kind="referrals.opinion",state="pending"} 2.0' in text
    assert 'hub_outbox_messages{kind="referrals.opinion",state="dead"} 1.0' in text
    assert 'state="delivered"' not in text  # a depth: what is still to do or to look at
