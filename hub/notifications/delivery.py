"""Delivery channels: the browser (websocket), email, and an interface for SMS or WeChat gateways.

A channel gets a ``Notification`` once it is committed and delivers it to the recipients it can
reach. ``NOTIFICATION_CHANNELS`` (settings) lists the channels' dotted paths; the default is the
websocket and email channels.
"""

from __future__ import annotations

import logging
from typing import Protocol

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
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
        send = async_to_sync(layer.group_send)
        for recipient in notification.recipients:
            send(user_group(recipient.user_id), message)


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
