from celery import shared_task
from django.core.mail import send_mail


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=30, retry_backoff_max=600, max_retries=5)
def email_send(self, *, to: str, subject: str, body: str) -> None:
    """Send one notification email; a mail server that is down is retried with backoff."""
    send_mail(subject=subject, message=body, from_email=None, recipient_list=[to])
