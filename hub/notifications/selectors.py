"""Reads of a user's notifications (whose they are is decided by ``hub.access.notifications``)."""

from __future__ import annotations

from django.db.models import QuerySet

from hub.access.notifications import notifications_visible
from hub.notifications.models import UserNotification


def notification_list(*, user, since: int | None = None, unread: bool | None = None) -> QuerySet[UserNotification]:
    notifications = notifications_visible(user)
    if since is not None:
        notifications = notifications.filter(pk__gt=since)
    if unread is True:
        notifications = notifications.filter(read_at=None)
    elif unread is False:
        notifications = notifications.exclude(read_at=None)
    return notifications.order_by("pk")


def notifications_after(*, user_id: int, after: int, exclude: set[int] | frozenset = frozenset(), limit: int = 200):
    """What a connected client has not been sent yet: the user's notifications after an id, oldest first."""
    rows = UserNotification.objects.filter(user_id=user_id, pk__gt=after).exclude(pk__in=exclude).order_by("pk")
    return [row.as_message() for row in rows[:limit]]


def last_notification_id(*, user_id: int) -> int:
    return UserNotification.objects.filter(user_id=user_id).order_by("-pk").values_list("pk", flat=True).first() or 0
