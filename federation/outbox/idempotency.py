"""What every HTTP delivery sends: the message's event id as the idempotency key."""

from __future__ import annotations

from federation.outbox.models import OutboxMessage


def idempotency_headers(message: OutboxMessage) -> dict[str, str]:
    return {"Idempotency-Key": str(message.event_id), "X-Event-Id": str(message.event_id)}
