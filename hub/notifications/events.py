"""The one module through which the hub publishes notifications.

Services call ``notify_on_commit`` inside their transaction: each recipient's notification is stored there
(``UserNotification``, whose id clients resume from and deduplicate on), the channels that go through the
outbox (email, texts) write their deliveries there too, and the live channel (the websocket) publishes once
the transaction commits, without making the request wait on Redis. Nothing is stored or sent for a write
that rolls back. A channel that fails is logged and does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction
from django.utils import timezone

from hub.notifications.delivery import NotificationChannel, channels_configured
from hub.notifications.message import Notification, Recipient
from hub.notifications.services import notifications_store

logger = logging.getLogger(__name__)
_muted: ContextVar[bool] = ContextVar("notifications_muted", default=False)


@contextmanager
def notifications_muted() -> Iterator[None]:
    """Publish nothing inside the block (bulk loads such as the demo's)."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def notify_on_commit(*, event: str, recipients: Iterable, title: str, body: str, payload: dict | None = None) -> None:
    if _muted.get():
        return
    unique = {user.pk: user for user in recipients if user is not None and user.is_active}
    if not unique:
        return
    now = timezone.now()
    notification = Notification(
        event=event,
        title=str(title),
        body=str(body),
        recipients=tuple(Recipient.of(user) for user in unique.values()),
        payload=payload or {},
        at=now.isoformat(),
    )
    notification = notifications_store(notification=notification, now=now)
    channels = channels_configured()
    notification_deliver(notification=notification, channels=[c for c in channels if _transactional(c)])
    live = [c for c in channels if not _transactional(c)]
    if live:
        transaction.on_commit(lambda: notification_deliver(notification=notification, channels=live))


def _transactional(channel: NotificationChannel) -> bool:
    return bool(getattr(channel, "transactional", False))


def notification_deliver(*, notification: Notification, channels: list[NotificationChannel] | None = None) -> None:
    for channel in channels_configured() if channels is None else channels:
        try:
            if _transactional(channel):
                with transaction.atomic():  # a savepoint: a failing channel leaves the caller's transaction usable
                    channel.deliver(notification)
            else:
                channel.deliver(notification)
        except Exception:
            logger.exception("notification %s via %s failed", notification.event, channel.name)
