"""Delivery channels: the browser (websocket), email, and an interface for SMS or WeChat gateways.

``NOTIFICATION_CHANNELS`` (settings) lists the channels' dotted paths; the default is the websocket and
email channels. A channel marked ``transactional`` is called inside the notifying transaction and writes its
deliveries to the outbox (``federation.outbox``: sent after commit by workers, retried, dead letters
visible to site administrators); the others are called once the transaction has committed.
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
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from federation.outbox.services import outbox_enqueue
from hub.notifications.message import Notification, user_group

logger = logging.getLogger(__name__)

DEFAULT_CHANNELS = [
    "hub.notifications.delivery.WebsocketChannel",
    "hub.notifications.delivery.EmailChannel",
]
EMAIL_KIND = "notifications.email"
TEXT_KIND = "notifications.text"


class NotificationChannel(Protocol):
    name: str

    def deliver(self, notification: Notification) -> None: ...


class WebsocketChannel:
    """Every open tab of each recipient, through the Channels group ``user.<id>``.

    Fire and forget: the request does not wait on Redis. A message lost on the way (Redis restarted or
    unreachable) is not lost to the user: it is stored, and the connected socket picks it up from the
    database (``consumers``), as does a client that reconnects with the last id it saw.
    """

    name = "websocket"

    def deliver(self, notification: Notification) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        sends = [
            (user_group(recipient.user_id), {"type": "notify", "message": notification.as_message(recipient)})
            for recipient in notification.recipients
        ]

        async def send() -> None:
            for group, message in sends:
                await layer.group_send(group, message)

        if isinstance(layer, InMemoryChannelLayer):
            async_to_sync(send)()  # its queues belong to the consumers' event loop: send from there
        else:
            publisher.submit(send(), timeout=PUBLISH_TIMEOUT)


PUBLISH_TIMEOUT = 10.0


class Publisher:
    """One event loop per process, in a thread of its own, for channel-layer sends from synchronous code.

    ``async_to_sync`` called from a thread without an event loop (a WSGI request thread, a Celery task)
    makes a new loop and a new thread for each call, and the Redis layer a new connection for each
    loop: a connection per notification. Sending through one long-lived loop keeps one pool of Redis
    connections per process. ``submit`` does not wait: a slow or paused Redis never holds up a request.
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
        """Send and wait (at most ``timeout``) for the send to be done."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._running_loop()).result(timeout)

    def submit(self, coroutine, *, timeout: float):
        """Send without waiting; a failure is logged (the stored notification is still picked up)."""
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coroutine, timeout), self._running_loop())
        future.add_done_callback(_log_failure)
        return future


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("live notification not published: %r", future.exception())


publisher = Publisher()


def _outbox(*, kind: str, destination: str, notification: Notification, recipient, payload: dict) -> None:
    outbox_enqueue(
        kind=kind,
        destination=destination,
        payload=payload,
        site_code=recipient.site_code,
        subject=f"notification:{recipient.notification_id}" if recipient.notification_id else notification.event,
    )


class EmailChannel:
    """Django's email backend, one message per recipient with an address, through the outbox."""

    name = "email"
    transactional = True

    def deliver(self, notification: Notification) -> None:
        for recipient in notification.recipients:
            if recipient.email:
                _outbox(
                    kind=EMAIL_KIND,
                    destination="email",
                    notification=notification,
                    recipient=recipient,
                    payload={"to": recipient.email, "subject": notification.title, "body": notification.body},
                )


def email_send(message) -> dict:
    """The outbox's handler of emails: the event id makes the Message-ID, the same on every attempt."""
    data = message.payload
    domain = getattr(settings, "DEFAULT_FROM_EMAIL", "hub@localhost").rpartition("@")[2] or "localhost"
    email = EmailMessage(
        subject=data["subject"],
        body=data["body"],
        to=[data["to"]],
        headers={"Message-ID": f"<{message.event_id}@{domain}>", "X-Event-Id": str(message.event_id)},
    )
    email.send(fail_silently=False)
    return {}


class TextGateway(Protocol):
    """What an SMS or WeChat template-message gateway implements. ``idempotency_key`` is the same on every
    attempt at one text: gateways that take a client message id should pass it on."""

    def send_text(self, *, to: str, text: str, idempotency_key: str = "") -> None: ...


class LoggingTextGateway:
    """Writes texts to the log: the default until a real SMS/WeChat gateway is configured."""

    def send_text(self, *, to: str, text: str, idempotency_key: str = "") -> None:
        logger.info("text to %s: %s", to, text)


def text_gateway() -> TextGateway:
    path = getattr(settings, "NOTIFICATION_TEXT_GATEWAY", "hub.notifications.delivery.LoggingTextGateway")
    return import_string(path)()


class TextChannel:
    """Short texts to recipients' phones through the gateway named by ``NOTIFICATION_TEXT_GATEWAY``, through
    the outbox (or straight to ``gateway`` when one is given, as tests do).

    Only urgent events are texted (``NOTIFICATION_TEXT_EVENTS``), as texts cost money and attention.
    """

    name = "text"
    transactional = True

    def __init__(self, gateway: TextGateway | None = None):
        self.gateway = gateway
        self.events = set(getattr(settings, "NOTIFICATION_TEXT_EVENTS", ["referral.escalated"]))

    def deliver(self, notification: Notification) -> None:
        if notification.event not in self.events:
            return
        for recipient in notification.recipients:
            if not recipient.phone:
                continue
            text = f"{notification.title}: {notification.body}"[:300]
            if self.gateway is not None:
                self.gateway.send_text(to=recipient.phone, text=text)
                continue
            _outbox(
                kind=TEXT_KIND,
                destination="sms",
                notification=notification,
                recipient=recipient,
                payload={"to": recipient.phone, "text": text},
            )


def text_send(message) -> dict:
    """The outbox's handler of texts."""
    text_gateway().send_text(
        to=message.payload["to"], text=message.payload["text"], idempotency_key=str(message.event_id)
    )
    return {}


def handlers_register() -> None:
    from federation.outbox.registry import handler_register

    handler_register(EMAIL_KIND, send=email_send)
    handler_register(TEXT_KIND, send=text_send)


def channels_configured() -> list[NotificationChannel]:
    return [import_string(path)() for path in getattr(settings, "NOTIFICATION_CHANNELS", DEFAULT_CHANNELS)]
