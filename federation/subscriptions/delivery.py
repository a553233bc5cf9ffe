"""Sending notifications: rest-hooks by HTTP POST through the outbox (one message per event, in order per
subscription, retried by the outbox's policy, the subscription set to ``error`` when one is given up),
websockets by a ``ping`` after commit.

``events_queue`` and ``handshake_queue`` are called inside the transaction of the change, so a notification
exists exactly when its change does; ``notification_send`` (the outbox handler) sends one.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlsplit

import httpx
import orjson
from django.db import transaction
from django.utils.translation import gettext as _

from federation.outbox.idempotency import idempotency_headers
from federation.outbox.registry import Retry, handler_register
from federation.outbox.services import outbox_enqueue
from federation.subscriptions.constants import (
    EVENT_NUMBER_HEADER,
    NOTIFICATION_KIND,
    SUBSCRIPTION_HEADER,
    Channel,
    Payload,
    Status,
)
from federation.subscriptions.models import Subscription, SubscriptionEvent

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10.0


# The outbox's event ids of the notifications: one per subscription (its row, not its FHIR id, which a
# deleted and re-created Subscription may reuse) and event number.
EVENT_NAMESPACE = uuid.UUID("6f1d3c52-1d0e-4c57-9a53-7f8e0b6f4a11")


class DeliveryFailed(Retry):
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


def destination_of(endpoint: str) -> str:
    """The circuit breaker's key: one per receiving server."""
    parts = urlsplit(endpoint)
    return f"hook:{parts.scheme}://{parts.netloc}"


def _queue(subscription: Subscription, number: int) -> None:
    outbox_enqueue(
        kind=NOTIFICATION_KIND,
        destination=destination_of(subscription.endpoint),
        payload={"subscription": subscription.pk, "number": number},
        ordering_key=f"subscription:{subscription.pk}",
        event_id=uuid.uuid5(EVENT_NAMESPACE, f"{subscription.pk}:{number}:{subscription.updated_at.isoformat()}"),
        site_code=subscription.actor_site or subscription.owner,
        subject=f"Subscription/{subscription.fhir_id}",
    )


def _headers(subscription: Subscription, number: int, body: bytes, extra: dict[str, str]) -> dict[str, str]:
    headers = {**extra, SUBSCRIPTION_HEADER: subscription.fhir_id, EVENT_NUMBER_HEADER: str(number)}
    if body:
        headers["Content-Type"] = subscription.mime_type or "application/fhir+json"
    for line in subscription.headers:
        name, _sep, value = line.partition(":")
        if name.strip() and name.strip().lower() not in ("content-type", "content-length", "host"):
            headers[name.strip()] = value.strip()
    return headers


def notification_send(*, subscription_id: int, number: int, headers: dict[str, str] | None = None) -> bool:
    """POST one notification (``number`` 0: the handshake); False when there is nothing to send any more (the
    subscription is gone, off, in error or no longer a rest-hook: its events wait for ``$events``). A confirmed
    handshake makes it active."""
    from federation.subscriptions.notifications import EVENT, HANDSHAKE, notification_bundle
    from federation.subscriptions.services import subscription_status_set

    subscription = Subscription.objects.filter(pk=subscription_id, channel=Channel.REST_HOOK).first()
    if subscription is None or subscription.status in (Status.OFF, Status.ERROR):
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
            headers=_headers(subscription, number, body, headers or {}),
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


def message_send(message) -> dict:
    """The outbox handler of ``NOTIFICATION_KIND``: a failure raises ``DeliveryFailed`` (retried)."""
    payload = message.payload
    sent = notification_send(
        subscription_id=payload["subscription"], number=payload["number"], headers=idempotency_headers(message)
    )
    return {"sent": sent}


def message_recorded(message) -> None:
    """The outbox gave up on a notification (its retry window, at least 24 h, is over): the subscription is in
    ``error`` with the reason; its events wait for ``$events`` until the subscriber asks for it again."""
    from federation.outbox.models import MessageState
    from federation.subscriptions.services import subscription_status_set

    if message.state != MessageState.DEAD:
        return
    subscription = Subscription.objects.filter(pk=message.payload["subscription"]).first()
    if subscription is not None and subscription.status in (Status.REQUESTED, Status.ACTIVE):
        reason = _("Notification %(number)s not delivered: %(reason)s") % {
            "number": message.payload["number"],
            "reason": message.dead_reason,
        }
        subscription_status_set(fhir_id=subscription.fhir_id, status=Status.ERROR, error=reason)


def handlers_register() -> None:
    handler_register(NOTIFICATION_KIND, send=message_send, recorded=message_recorded)
