"""Running Subscriptions: configure one from its resource, record the events that match, set its status.

``subscription_configure`` and ``events_record`` run inside the transaction that stores a change (``listener``);
``subscription_status_set`` runs after, as the hub's workflow (the status is the hub's to say).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from federation.subscriptions import delivery
from federation.subscriptions.constants import EVENTS_KEPT_DAYS, SUBSCRIPTIONS_SOURCE, Channel, Status
from federation.subscriptions.models import Subscription, SubscriptionEvent
from federation.subscriptions.parse import criteria_split, subscription_parse
from federation.subscriptions.secrets import headers_resolve
from federation.subscriptions.subscribers import subscriber_of
from fhir_gateway import services
from fhir_gateway.context import INTERNAL_ACTOR, Actor, Change
from fhir_gateway.errors import FhirError

logger = logging.getLogger(__name__)


def subscription_configure(*, actor: Actor, change: Change) -> None:
    """A user or a site system wrote (or deleted) a Subscription resource: run it as that subscriber.

    The criteria are checked as a search the subscriber makes (unknown parameters, types it may not read:
    the write is refused). A rest-hook starts ``requested`` and becomes ``active`` once its endpoint answers
    the handshake; a websocket is ``active`` at once; ``off`` stops it. Changing the channel, the criteria or
    the subscriber starts again.
    """
    if change.content is None:
        Subscription.objects.filter(fhir_id=change.fhir_id).delete()
        return
    asked = subscription_parse(change.content)
    services.resources_matching(resource_type=asked.resource_type, criteria=asked.params, fhir_ids=[], actor=actor)
    existing = Subscription.objects.select_for_update().filter(fhir_id=change.fhir_id).first()
    headers = headers_resolve(
        fhir_id=change.fhir_id, written=asked.headers, held=existing.headers if existing is not None else []
    )
    values = {
        "owner": change.owner,
        "resource_type": asked.resource_type,
        "criteria": asked.criteria,
        "channel": asked.channel,
        "endpoint": asked.endpoint,
        "headers": headers,
        "payload": asked.payload,
        "mime_type": asked.mime_type,
        "actor_kind": actor.kind,
        "actor_id": actor.id[:128],
        "actor_display": actor.display[:255],
        "actor_site": actor.site,
        "actor_scopes": " ".join(sorted(actor.scopes)),
    }
    unchanged = existing is not None and all(getattr(existing, k) == v for k, v in values.items() if k != "owner")
    if asked.status == Status.OFF:
        status = Status.OFF
    elif unchanged and existing.status == Status.ACTIVE:
        status = Status.ACTIVE
    else:
        status = Status.ACTIVE if asked.channel == Channel.WEBSOCKET else Status.REQUESTED
    values.update(status=status, error="" if status != Status.ERROR else existing.error)
    subscription, _created = Subscription.objects.update_or_create(fhir_id=change.fhir_id, defaults=values)
    if status == Status.REQUESTED:
        delivery.handshake_queue(subscription=subscription)
    if status != asked.status or change.content.get("error"):
        fhir_id = subscription.fhir_id
        # Unless the handshake (sent at commit too) got there first.
        transaction.on_commit(lambda: subscription_status_set(fhir_id=fhir_id, status=status, only_from=status))


def _numbers_take(subscription: Subscription, count: int) -> list[int]:
    """The next ``count`` event numbers of the subscription (its row stays locked until the change commits, so
    numbers follow the order in which changes commit)."""
    Subscription.objects.filter(pk=subscription.pk).update(events_count=F("events_count") + count)
    last = Subscription.objects.filter(pk=subscription.pk).values_list("events_count", flat=True).get()
    return list(range(last - count + 1, last + 1))


def events_record(*, changes: list[Change]) -> None:
    """Match stored changes against the active subscriptions of their types, as each subscriber would search; a
    deletion matches the subscriptions that were told of the resource (it no longer answers any search)."""
    types = {change.resource_type for change in changes}
    if not types:
        return
    for subscription in Subscription.objects.filter(resource_type__in=types, status=Status.ACTIVE).order_by("pk"):
        mine = [c for c in changes if c.resource_type == subscription.resource_type]
        actor = subscriber_of(subscription)
        if actor is None:
            continue
        kept = [c for c in mine if c.content is not None]
        gone = [c for c in mine if c.content is None]
        matched: set[str] = set()
        if kept:
            _type, params = criteria_split(subscription.criteria)
            try:
                with transaction.atomic():  # a savepoint: a search that fails must not undo the change
                    matched = set(
                        services.resources_matching(
                            resource_type=subscription.resource_type,
                            criteria=params,
                            fhir_ids=[c.fhir_id for c in kept],
                            actor=actor,
                        )
                    )
            except FhirError as error:
                logger.warning("Subscription/%s: criteria not evaluated: %s", subscription.fhir_id, error.diagnostics)
        told: set[str] = set()
        if gone:
            told = set(
                SubscriptionEvent.objects.filter(
                    subscription=subscription, fhir_id__in=[c.fhir_id for c in gone], deleted=False
                ).values_list("fhir_id", flat=True)
            )
        hits = [c for c in mine if (c.fhir_id in matched if c.content is not None else c.fhir_id in told)]
        if not hits:
            continue
        numbers = _numbers_take(subscription, len(hits))
        events = SubscriptionEvent.objects.bulk_create(
            SubscriptionEvent(
                subscription=subscription,
                number=number,
                resource_type=change.resource_type,
                fhir_id=change.fhir_id,
                version_id=change.version_id,
                deleted=change.content is None,
            )
            for number, change in zip(numbers, hits, strict=True)
        )
        delivery.events_queue(subscription=subscription, events=events)


def subscription_status_set(*, fhir_id: str, status: str, error: str = "", only_from: str | None = None) -> None:
    """Set the status (and ``error``) in the hub's record and in the stored resource, as the hub's workflow;
    a resource changed meanwhile by its subscriber is left as it is (that write configured it again).
    ``only_from``: only if the status is still this one (a late handshake does not undo a newer write)."""
    rows = Subscription.objects.filter(fhir_id=fhir_id)
    if only_from is not None:
        rows = rows.filter(status=only_from)
    if not rows.update(status=status, error=error) and only_from is not None:
        return
    try:
        stored = services.resource_read(resource_type="Subscription", fhir_id=fhir_id, actor=INTERNAL_ACTOR)
    except FhirError:
        return
    content = {**stored, "status": status}
    if error:
        content["error"] = error[:1000]
    else:
        content.pop("error", None)
    version = (stored.get("meta") or {}).get("versionId")
    try:
        services.resource_update(
            resource_type="Subscription",
            fhir_id=fhir_id,
            resource=content,
            actor=INTERNAL_ACTOR,
            if_match=f'W/"{version}"' if version else None,
            source=SUBSCRIPTIONS_SOURCE,
        )
    except FhirError as refused:
        logger.info("Subscription/%s status not written: %s", fhir_id, refused.diagnostics)


def events_purge(*, days: int = EVENTS_KEPT_DAYS) -> int:
    """Delete the events older than ``days`` (their numbers stay taken); returns how many."""
    deleted, _by_model = SubscriptionEvent.objects.filter(created_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
