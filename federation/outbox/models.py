"""What leaves the hub: one row per delivery, written in the caller's transaction, and a breaker per destination."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageState(models.TextChoices):
    PENDING = "pending", _("pending")  # waiting for its (next) attempt at ``next_attempt_at``
    SENDING = "sending", _("sending")  # a worker holds it until ``locked_until`` (then the sweeper takes it back)
    DELIVERED = "delivered", _("delivered")
    DEAD = "dead", _("dead letter")  # given up, with ``dead_reason``; a site administrator may re-send it


class OutboxMessage(models.Model):
    """One delivery to a destination outside the hub, retried until confirmed or given up (a dead letter)."""

    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=64)  # the registered handler that sends it
    destination = models.CharField(_("destination"), max_length=200)  # the circuit breaker's key
    ordering_key = models.CharField(_("ordering key"), max_length=200, blank=True)
    site_code = models.CharField(_("site"), max_length=64, blank=True)  # whose administrators see it
    subject = models.CharField(_("subject"), max_length=200, blank=True)  # what it is about, e.g. "opinion:12"
    payload = models.JSONField(_("payload"), default=dict)
    state = models.CharField(_("state"), max_length=10, choices=MessageState.choices, default=MessageState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    retry_from = models.DateTimeField(_("retried since"))  # start of the give-up window (reset by a re-send)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)  # last handed to a worker
    locked_until = models.DateTimeField(_("held until"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    dead_at = models.DateTimeField(_("dead since"), null=True, blank=True)
    dead_reason = models.TextField(_("why it was given up"), blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="outbox_due", condition=models.Q(state__in=["pending", "sending"])
            ),
            models.Index(
                fields=["ordering_key", "id"],
                name="outbox_ordering",
                condition=models.Q(state__in=["pending", "sending"]),
            ),
            models.Index(fields=["site_code", "state"], name="outbox_site_state"),
            models.Index(fields=["kind", "subject"], name="outbox_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.destination} ({self.state})"


class Breaker(models.Model):
    """A destination's circuit breaker, shared by the outbox and the sites' pull sync."""

    destination = models.CharField(_("destination"), max_length=200, unique=True)
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    open_until = models.DateTimeField(_("open until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("circuit breaker")
        verbose_name_plural = _("circuit breakers")

    def __str__(self) -> str:
        return self.destination
