"""Celery tasks of the outbox: thin, they take ids and call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="outbox.deliver", ignore_result=True, acks_late=True)
def outbox_deliver_task(message_id: int) -> str:
    from federation.outbox.services import outbox_deliver

    return outbox_deliver(message_id=message_id)


@shared_task(name="outbox.sweep", ignore_result=True)
def outbox_sweep_task() -> int:
    """Beat: re-queue due and abandoned deliveries; now and then forget old delivered ones."""
    from federation.outbox.services import outbox_purge, outbox_sweep

    swept = outbox_sweep()
    outbox_purge()
    return swept
