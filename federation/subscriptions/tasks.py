"""Celery tasks of the Subscriptions (thin: call one service)."""

from __future__ import annotations

from celery import shared_task

from federation.subscriptions.services import events_purge


@shared_task(name="subscriptions.events_purge", ignore_result=True)
def events_purge_task() -> int:
    """Beat, daily: forget events older than ``EVENTS_KEPT_DAYS`` (no longer offered by ``$events``)."""
    return events_purge()
