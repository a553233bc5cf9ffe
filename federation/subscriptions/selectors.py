"""Reads of the Subscriptions: the events a subscriber missed (``$events``)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from federation.subscriptions.constants import EVENTS_PAGE_MAX
from federation.subscriptions.models import Subscription
from federation.subscriptions.notifications import QUERY_EVENT, notification_bundle
from federation.subscriptions.subscribers import same_party
from fhir_gateway import services
from fhir_gateway.context import Actor
from fhir_gateway.errors import FhirError, Forbidden, NotFound


def _number(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    if not value.isdigit():
        raise FhirError(400, _("%(name)s must be an event number") % {"name": name}, code="value", expression=[name])
    return int(value)


def subscription_events(
    *, fhir_id: str, actor: Actor, since: str | None, until: str | None, count: str | None, base_url: str
) -> dict:
    """``Subscription/<id>/$events`` (the Subscriptions Backport IG's operation): the events numbered from
    ``eventsSinceNumber`` to ``eventsUntilNumber`` (both included; at most ``_count``, 100 by default), as
    the notification Bundle. Whoever may not read the Subscription is told it does not exist; only its
    subscriber gets its events."""
    first, last = _number(since, "eventsSinceNumber") or 1, _number(until, "eventsUntilNumber")
    limit = min(_number(count, "_count") or 100, EVENTS_PAGE_MAX)
    services.resource_read(resource_type="Subscription", fhir_id=fhir_id, actor=actor)
    subscription = Subscription.objects.filter(fhir_id=fhir_id).first()
    if subscription is None:
        raise NotFound(_("Subscription/%(id)s is not run by the hub") % {"id": fhir_id})
    if not same_party(actor, subscription):
        raise Forbidden(_("Only the subscriber reads a Subscription's events."))
    events = subscription.events.filter(number__gte=first).order_by("number")
    if last is not None:
        events = events.filter(number__lte=last)
    return notification_bundle(
        subscription=subscription, kind=QUERY_EVENT, events=list(events[:limit]), base_url=base_url
    )
