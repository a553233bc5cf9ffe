"""Writes of notifications: stored per recipient in the caller's transaction, marked read by their user."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.utils import timezone

from hub.notifications.message import Notification
from hub.notifications.models import UserNotification


def notifications_store(*, notification: Notification, now: datetime | None = None) -> Notification:
    """One stored row per recipient; returns the notification with each recipient's row id."""
    now = now or timezone.now()
    rows = UserNotification.objects.bulk_create(
        [
            UserNotification(
                user_id=recipient.user_id,
                event=notification.event,
                title=notification.title[:300],
                body=notification.body,
                payload=notification.payload,
                created_at=now,
            )
            for recipient in notification.recipients
        ]
    )
    recipients = tuple(
        replace(recipient, notification_id=row.pk) for recipient, row in zip(notification.recipients, rows, strict=True)
    )
    return replace(notification, recipients=recipients)


def notifications_mark_read(*, user, ids: list[int] | None = None, up_to: int | None = None) -> int:
    """Mark the user's own notifications read (those named, or every one up to an id); returns how many."""
    unread = UserNotification.objects.filter(user=user, read_at=None)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    if up_to is not None:
        unread = unread.filter(pk__lte=up_to)
    return unread.update(read_at=timezone.now())
