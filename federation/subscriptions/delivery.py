"""Sending notifications: rest-hooks by HTTP POST (one request per event, in order), websockets by a ``ping``.

``events_queue`` and ``handshake_queue`` are called inside the transaction of the change; ``notification_send``
delivers one (it raises ``DeliveryFailed`` for the retry policy to try again).
"""

from __future__ import annotations

import logging

import httpx
import orjson
from django.db import transaction
from django.utils.translation import gettext as _

from federation.subscriptions.constants import (
    EVENT_NUMBER_HEADER,
    SUBSCRIPTION_HEADER,
    Channel,
    Payload,
    Status,
)
from federation.subscriptions.models import Subscription, SubscriptionEvent

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10.0


class DeliveryFailed(Exception):
    """The endpoint did not confirm the notification (an error, a timeout, a status other than 2xx)."""


def ws_group(fhir_id: str) -> str:
    return f"fhir-subscription.{fhir_id}"


def _ws_ping(fhir_id: str) -> None:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(ws_group(fhir_id), {"type": "subscription.ping", "id": fhir_id})
    except Exception:  # a websocket subscriber catches up through $events
        logger.warning("Subscription/%s: websocket ping not sent", fhir_id, exc_info=True)


def events_queue(*, subscription: Subscription, events: list[SubscriptionEvent]) -> None:
    if subscription.channel == Channel.WEBSOCKET:
        fhir_id = subscription.fhir_id
        transaction.on_commit(lambda: _ws_ping(fhir_id))
        return
    for event in events:
        _queue(subscription, event.number)


def handshake_queue(*, subscription: Subscription) -> None:
    _queue(subscription, 0)


def _queue(subscription: Subscription, number: int) -> None:
    from federation.subscriptions.tasks import notification_deliver

    pk = subscription.pk
    transaction.on_commit(lambda: notification_deliver.delay(pk, number))


def _headers(subscription: Subscription, number: int, body: bytes) -> dict[str, str]:
    headers = {SUBSCRIPTION_HEADER: subscription.fhir_id, EVENT_NUMBER_HEADER: str(number)}
    if body:
        headers["Content-Type"] = subscription.mime_type or "application/fhir+json"
    for line in subscription.headers:
        name, _sep, value = line.partition(":")
        if name.strip() and name.strip().lower() not in ("content-type", "content-length", "host"):
            headers[name.strip()] = value.strip()
    return headers


def notification_send(*, subscription_id: int, number: int) -> bool:
    """POST one notification (``number`` 0: the handshake); False when there is nothing to send any more (the
    subscription is gone, off, or no longer a rest-hook). A confirmed handshake makes it active."""
    from federation.subscriptions.notifications import EVENT, HANDSHAKE, notification_bundle
    from federation.subscriptions.services import subscription_status_set

    subscription = Subscription.objects.filter(pk=subscription_id, channel=Channel.REST_HOOK).first()
    if subscription is None or subscription.status == Status.OFF:
        return False
    if number == 0:
        if subscription.status != Status.REQUESTED:
            return False
        events = []
    else:
        events = list(SubscriptionEvent.objects.filter(subscription=subscription, number=number))
        if not events:
            return False
    if subscription.payload == Payload.EMPTY:
        body = b""
    else:
        kind = HANDSHAKE if number == 0 else EVENT
        body = orjson.dumps(notification_bundle(subscription=subscription, kind=kind, events=events))
    try:
        response = httpx.post(
            subscription.endpoint,
            content=body,
            headers=_headers(subscription, number, body),
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except httpx.HTTPError as error:
        failure = _("%(endpoint)s: %(error)s") % {"endpoint": subscription.endpoint, "error": error}
        raise DeliveryFailed(failure) from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(
            _("%(endpoint)s answered %(status)s") % {"endpoint": subscription.endpoint, "status": response.status_code}
        )
    if number == 0:
        subscription_status_set(fhir_id=subscription.fhir_id, status=Status.ACTIVE, only_from=Status.REQUESTED)
    return True


def delivery_given_up(*, subscription_id: int, reason: str) -> None:
    """The retry policy gave up on a notification: the subscription is in error, with the reason."""
    from federation.subscriptions.services import subscription_status_set

    subscription = Subscription.objects.filter(pk=subscription_id).first()
    if subscription is not None and subscription.status in (Status.REQUESTED, Status.ACTIVE):
        subscription_status_set(fhir_id=subscription.fhir_id, status=Status.ERROR, error=reason)
