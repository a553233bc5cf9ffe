from celery import shared_task


@shared_task(name="hub.notifications.tasks.email_send", ignore_result=True)
def email_send(*, to: str, subject: str, body: str) -> None:
    """Kept for emails queued before the outbox: hands them to it (emails now go through ``federation.outbox``)."""
    from django.db import transaction

    from federation.outbox.services import outbox_enqueue
    from hub.notifications.delivery import EMAIL_KIND

    with transaction.atomic():
        outbox_enqueue(kind=EMAIL_KIND, destination="email", payload={"to": to, "subject": subject, "body": body})
