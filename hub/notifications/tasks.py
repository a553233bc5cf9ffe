from celery import shared_task


@shared_task(name="hub.notifications.tasks.email_send", ignore_result=True)
def email_send(*, to: str, subject: str, body: str) -> None:
    """Kept for emails queued before the outbox: hands them to it (emails now go through ``federation.outbox``)."""
    from django.db import transaction

    from federation.outbox.services import outbox_enqueue
    from hub.notifications.delivery import EMAIL_KIND

    with transaction.atomic():
        outbox_enqueue(kind=EMAIL_KIND, destination="email", payload={"to": to, "subject": subject, "body": body})


@shared_task(name="notifications.purge", ignore_result=True)
def notifications_purge_task() -> int:
    """Beat, daily: forget notifications older than ``NOTIFICATION_KEEP_DAYS``."""
    from hub.notifications.services import notifications_purge

    return notifications_purge()
