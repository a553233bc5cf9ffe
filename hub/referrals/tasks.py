"""Celery tasks of the referral workflow: thin, they load ids and call one service."""

from celery import shared_task

from hub.referrals.services.escalation import opinion_escalate_due, sla_escalate_due


@shared_task(name="referrals.sla_escalate_due", ignore_result=True)
def sla_escalate_due_task() -> int:
    """Beat, every minute: escalate requests not accepted within their SLA, and accepted ones whose signed
    opinion is overdue."""
    return sla_escalate_due() + opinion_escalate_due()


@shared_task(name="referrals.opinion_deliver", ignore_result=True)
def opinion_deliver_task(*, opinion_id: int) -> None:
    """Kept for tasks queued before the outbox: signed opinions now go out through ``federation.outbox``
    (its sweeper sends every pending delivery), so this only hands the opinion's message to a worker."""
    from federation.outbox.selectors import subject_messages
    from federation.outbox.tasks import outbox_deliver_task

    for message_id in subject_messages(kind="referrals.opinion", subject=f"opinion:{opinion_id}").values_list(
        "pk", flat=True
    ):
        outbox_deliver_task.delay(message_id)
