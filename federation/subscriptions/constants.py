"""The names Subscriptions speak in (http://hl7.org/fhir/R4/valueset-subscription-status.html and friends)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    """``Subscription.status``: the client asks (requested, off), the hub decides the rest."""

    REQUESTED = "requested", _("requested")
    ACTIVE = "active", _("active")
    ERROR = "error", _("error")
    OFF = "off", _("off")


class Channel(models.TextChoices):
    REST_HOOK = "rest-hook", _("REST hook")
    WEBSOCKET = "websocket", _("websocket")


class Payload(models.TextChoices):
    """What a notification carries: nothing (no ``channel.payload``), the ids, or the resource."""

    EMPTY = "empty", _("empty")
    ID_ONLY = "id-only", _("ids only")
    FULL = "full-resource", _("full resource")


# ``channel.payload``'s content as the Subscriptions R5 Backport IG says it (an extension on ``payload``).
PAYLOAD_CONTENT_URL = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content"
# meta.source of the hub's own writes of a Subscription (its status and error): not the subscriber's.
SUBSCRIPTIONS_SOURCE = "urn:alliance-hub:subscriptions"
# Headers every rest-hook notification carries: which Subscription, and the event's number to deduplicate on.
SUBSCRIPTION_HEADER = "X-Subscription-Id"
EVENT_NUMBER_HEADER = "X-Subscription-Event-Number"
NOTIFICATION_KIND = "subscription.rest-hook"
# Events kept for ``$events`` replay.
EVENTS_KEPT_DAYS = 30
EVENTS_PAGE_MAX = 500
