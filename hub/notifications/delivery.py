"""Delivery channels: the browser (websocket), email, and an interface for SMS or WeChat gateways.

A channel gets a ``Notification`` once it is committed and delivers it to the recipients it can
reach. ``NOTIFICATION_CHANNELS`` (settings) lists the channels' dotted paths; the default is the
websocket and email channels.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Protocol

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.utils.module_loading import import_string

from hub.notifications.message import Notification, user_group

logger = logging.getLogger(__name__)

DEFAULT_CHANNELS = [
    "hub.notifications.delivery.WebsocketChannel",
    "hub.notifications.delivery.EmailChannel",
]


class NotificationChannel(Protocol):
    name: str

    def deliver(self, notification: Notification) -> None: ...


class WebsocketChannel:
    """Every open tab of each recipient, through the Channels group ``user.<id>``."""

    name = "websocket"

    def deliver(self, notification: Notification) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        message = {"type": "notify", "message": notification.as_message()}
        groups = [user_group(recipient.user_id) for recipient in notification.recipients]

        async def send() -> None:
            for group in groups:
                await layer.group_send(group, message)

        if isinstance(layer, InMemoryChannelLayer):
            async_to_sync(send)()  # its queues belong to the consumers' event loop: send from there
        else:
            publisher.run(send(), timeout=PUBLISH_TIMEOUT)


PUBLISH_TIMEOUT = 10.0


class Publisher:
    """One event loop per process, in a thread of its own, for channel-layer sends from synchronous code.

    ``async_to_sync`` called from a thread without an event loop (a WSGI request thread, a Celery task)
    makes a new loop and a new thread for each call, and the Redis layer a new connection for each
    loop: a connection per notification. Sending through one long-lived loop keeps one pool of Redis
    connections per process. The caller still waits until the send is done (or has failed).
    """

    def __init__(self):
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is not None and self._pid == os.getpid():
            return self._loop
        with self._lock:  # first use in this process (or in a child forked after it: threads do not survive a fork)
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="notification-publisher", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
        return self._loop

    def run(self, coroutine, *, timeout: float):
        return asyncio.run_coroutine_threadsafe(coroutine, self._running_loop()).result(timeout)


publisher = Publisher()


class EmailChannel:
    """Django's email backend, one message per recipient with an address, sent by a Celery task."""

    name = "email"

    def deliver(self, notification: Notification) -> None:
        from hub.notifications.tasks import email_send

        for recipient in notification.recipients:
            if recipient.email:
                email_send.delay(to=recipient.email, subject=notification.title, body=notification.body)


class TextGateway(Protocol):
    """What an SMS or WeChat template-message gateway implements."""

    def send_text(self, *, to: str, text: str) -> None: ...


class LoggingTextGateway:
    """Writes texts to the log: the default until a real SMS/WeChat gateway is configured."""

    def send_text(self, *, to: str, text: str) -> None:
        logger.info("text to %s: %s", to, text)


class TextChannel:
    """Short texts to recipients' phones through the gateway named by ``NOTIFICATION_TEXT_GATEWAY``.

    Only urgent events are texted (``NOTIFICATION_TEXT_EVENTS``), as texts cost money and attention.
    """

    name = "text"

    def __init__(self, gateway: TextGateway | None = None):
        path = getattr(settings, "NOTIFICATION_TEXT_GATEWAY", "hub.notifications.delivery.LoggingTextGateway")
        self.gateway = gateway or import_string(path)()
        self.events = set(getattr(settings, "NOTIFICATION_TEXT_EVENTS", ["referral.escalated"]))

    def deliver(self, notification: Notification) -> None:
        if notification.event not in self.events:
            return
        for recipient in notification.recipients:
            if recipient.phone:
                self.gateway.send_text(to=recipient.phone, text=f"{notification.title}: {notification.body}"[:300])


def channels_configured() -> list[NotificationChannel]:
    return [import_string(path)() for path in getattr(settings, "NOTIFICATION_CHANNELS", DEFAULT_CHANNELS)]
