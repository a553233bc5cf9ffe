"""What a notification says: a ``history`` Bundle whose first entry is the subscription's status (a
``Parameters`` shaped as the Subscriptions R5 Backport IG's R4 SubscriptionStatus,
http://hl7.org/fhir/uv/subscriptions-backport/), then the changed resources as the payload asks.

The event number (``notification-event.event-number``, and the ``X-Subscription-Event-Number`` header) is
what a subscriber deduplicates on; ``$events`` answers the same Bundle for a range of numbers.
"""

from __future__ import annotations

from django.conf import settings

from federation.subscriptions.constants import Payload
from federation.subscriptions.models import Subscription, SubscriptionEvent
from federation.subscriptions.subscribers import subscriber_of
from fhir_gateway import services
from fhir_gateway.errors import FhirError
from fhir_gateway.public import instant

HANDSHAKE, EVENT, QUERY_EVENT = "handshake", "event-notification", "query-event"


def hub_base_url() -> str:
    return str(getattr(settings, "FEDERATION_HUB_BASE_URL", "http://127.0.0.1:8000/fhir")).rstrip("/")


def _status_parameters(subscription: Subscription, kind: str, events: list[SubscriptionEvent], base: str) -> dict:
    parameters = [
        {"name": "subscription", "valueReference": {"reference": f"{base}/Subscription/{subscription.fhir_id}"}},
        {"name": "status", "valueCode": subscription.status},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(subscription.events_count)},
    ]
    for event in events:
        parts = [
            {"name": "event-number", "valueString": str(event.number)},
            {"name": "timestamp", "valueInstant": instant(event.created_at)},
        ]
        if subscription.payload != Payload.EMPTY:
            parts.append({"name": "focus", "valueReference": {"reference": f"{event.resource_type}/{event.fhir_id}"}})
        parameters.append({"name": "notification-event", "part": parts})
    return {"resourceType": "Parameters", "parameter": parameters}


def notification_bundle(
    *, subscription: Subscription, kind: str, events: list[SubscriptionEvent], base_url: str | None = None
) -> dict:
    """The notification for ``events`` (none for a handshake), with each event's resource as the subscriber may
    read it now when the payload is the full resource (read as the subscriber: checked and audited)."""
    base = (base_url or hub_base_url()).rstrip("/")
    entries = [{"fullUrl": f"urn:uuid:status-{subscription.fhir_id}", "resource": {}}]
    entries[0]["resource"] = _status_parameters(subscription, kind, events, base)
    if subscription.payload != Payload.EMPTY and events:
        actor = subscriber_of(subscription)
        for event in events:
            entry = {"fullUrl": f"{base}/{event.resource_type}/{event.fhir_id}"}
            if event.deleted:  # as a history entry says a deletion: no resource
                entry["request"] = {"method": "DELETE", "url": f"{event.resource_type}/{event.fhir_id}"}
                entry["response"] = {"status": "204", "etag": f'W/"{event.version_id}"'}
            elif subscription.payload == Payload.FULL and actor is not None:
                try:
                    entry["resource"] = services.resource_vread(
                        resource_type=event.resource_type,
                        fhir_id=event.fhir_id,
                        version_id=str(event.version_id),
                        actor=actor,
                    )
                except FhirError:
                    continue  # no longer readable by the subscriber: the event says no more than its number
            entries.append(entry)
    return {"resourceType": "Bundle", "type": "history", "timestamp": instant_now(), "entry": entries}


def instant_now() -> str:
    from django.utils import timezone

    return instant(timezone.now())
