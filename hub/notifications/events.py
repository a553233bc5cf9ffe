"""The one module through which the hub publishes notifications, after the transaction commits.

Services call ``notify_on_commit``; nothing is sent for a write that rolls back. A channel that
fails is logged and does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction
from django.utils import timezone

from hub.notifications.delivery import channels_configured
from hub.notifications.message import Notification, Recipient

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
    notification = Notification(
        event=event,
        title=str(title),
        body=str(body),
        recipients=tuple(Recipient.of(user) for user in unique.values()),
        payload=payload or {},
        at=timezone.now().isoformat(),
    )
    transaction.on_commit(lambda: notification_deliver(notification=notification))


def notification_deliver(*, notification: Notification) -> None:
    for channel in channels_configured():
        try:
            channel.deliver(notification)
        except Exception:
            logger.exception("notification %s via %s failed", notification.event, channel.name)
