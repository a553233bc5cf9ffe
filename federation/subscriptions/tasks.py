"""Celery tasks of the Subscriptions (thin: load, call one service)."""

from __future__ import annotations

from celery import shared_task

from federation.subscriptions.delivery import DeliveryFailed, notification_send


@shared_task(name="subscriptions.notification_deliver", ignore_result=True)
def notification_deliver(subscription_id: int, number: int) -> bool:
    try:
        return notification_send(subscription_id=subscription_id, number=number)
    except DeliveryFailed:
        return False
