"""Celery tasks of the referral workflow: thin, they load ids and call one service."""

from celery import shared_task
from django.conf import settings

from hub.referrals.services.delivery import opinion_deliver
from hub.referrals.services.escalation import opinion_escalate_due, sla_escalate_due

DELIVERY_RETRIES = 6


@shared_task(name="referrals.sla_escalate_due", ignore_result=True)
def sla_escalate_due_task() -> int:
    """Beat, every minute: escalate requests not accepted within their SLA, and accepted ones whose signed
    opinion is overdue."""
    return sla_escalate_due() + opinion_escalate_due()


@shared_task(bind=True, name="referrals.opinion_deliver", max_retries=DELIVERY_RETRIES, ignore_result=True)
def opinion_deliver_task(self, *, opinion_id: int) -> bool:
    """Deliver a signed opinion to its site; retried with exponential backoff while the site is unreachable."""
    if self.request.is_eager:  # no broker (development, tests): the retries run at once, in line
        for attempt in range(DELIVERY_RETRIES + 1):
            if opinion_deliver(opinion_id=opinion_id, final=attempt == DELIVERY_RETRIES):
                return True
        return False
    final = self.request.retries >= DELIVERY_RETRIES
    delivered = opinion_deliver(opinion_id=opinion_id, final=final)
    if delivered or final:
        return delivered
    backoff = getattr(settings, "REFERRAL_DELIVERY_BACKOFF_SECONDS", 30)
    raise self.retry(countdown=min(3600, backoff * 2**self.request.retries))
