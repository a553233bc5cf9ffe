"""The hub's memory of each Subscription resource: who subscribes, to what, through which channel, and its events."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from federation.subscriptions.constants import Channel, Payload, Status


class Subscription(models.Model):
    """One FHIR ``Subscription`` resource as the hub runs it; the subscriber is whoever last wrote it."""

    fhir_id = models.CharField(_("FHIR id"), max_length=64, unique=True)
    owner = models.CharField(_("site"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    error = models.TextField(_("error"), blank=True)
    resource_type = models.CharField(_("resource type"), max_length=64, db_index=True)
    criteria = models.TextField(_("criteria"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    endpoint = models.URLField(_("endpoint"), max_length=500, blank=True)
    headers = models.JSONField(_("headers"), default=list, blank=True)
    payload = models.CharField(_("payload"), max_length=14, choices=Payload.choices, default=Payload.EMPTY)
    mime_type = models.CharField(_("payload MIME type"), max_length=64, blank=True)
    # The subscriber, as a gateway actor (``fhir_gateway.context.Actor``); scopes as granted when written.
    actor_kind = models.CharField(_("subscriber kind"), max_length=16)
    actor_id = models.CharField(_("subscriber"), max_length=128)
    actor_display = models.CharField(_("subscriber name"), max_length=255, blank=True)
    actor_site = models.CharField(_("subscriber site"), max_length=64, blank=True)
    actor_scopes = models.TextField(_("subscriber scopes"), blank=True)
    events_count = models.PositiveBigIntegerField(_("events so far"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [models.Index(fields=["resource_type", "status"], name="subscription_type_status")]

    def __str__(self) -> str:
        return f"Subscription/{self.fhir_id} ({self.status})"


class SubscriptionEvent(models.Model):
    """One change that matched a Subscription, numbered per subscription (the number to deduplicate on)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="events")
    number = models.PositiveBigIntegerField(_("event number"))
    resource_type = models.CharField(_("resource type"), max_length=64)
    fhir_id = models.CharField(_("FHIR id"), max_length=64)
    version_id = models.PositiveBigIntegerField(_("version"))
    deleted = models.BooleanField(_("deleted"), default=False)  # the change was the resource's deletion
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("subscription event")
        verbose_name_plural = _("subscription events")
        constraints = [
            models.UniqueConstraint(fields=["subscription", "number"], name="subscription_event_number_unique")
        ]
        indexes = [models.Index(fields=["subscription", "fhir_id"], name="subscription_event_resource")]

    def __str__(self) -> str:
        return f"{self.subscription.fhir_id} #{self.number}: {self.resource_type}/{self.fhir_id}"
