"""Sessions scheduled for a request and the signed opinions that answer it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.referrals.models.referral import Referral


class Appointment(models.Model):
    """A scheduled consultation session (a FHIR Appointment)."""

    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.CASCADE, related_name="appointments"
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("scheduled by"), on_delete=models.PROTECT, related_name="+"
    )
    fhir_id = models.CharField(_("Appointment id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M}"


class DeliveryStatus(models.TextChoices):
    NOT_APPLICABLE = "n/a", _("No site endpoint")
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Opinion(models.Model):
    """A specialist's signed opinion (a FHIR Composition with a legal attester and a Provenance signature).

    Immutable once signed: corrections are addenda, which point at the opinion they append to.
    """

    uid = models.UUIDField(_("identifier"), default=uuid.uuid4, unique=True, editable=False)
    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.PROTECT, related_name="opinions"
    )
    appends = models.ForeignKey(
        "self", verbose_name=_("addendum to"), null=True, blank=True, on_delete=models.PROTECT, related_name="addenda"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    conclusion = models.TextField(_("conclusion"))
    recommendations = models.TextField(_("recommendations"), blank=True)
    signed_at = models.DateTimeField(_("signed at"))
    signature = models.CharField(_("signature"), max_length=128)
    composition_id = models.CharField(_("Composition id"), max_length=64, blank=True)
    provenance_id = models.CharField(_("Provenance id"), max_length=64, blank=True)
    delivery_status = models.CharField(
        _("delivery"), max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.NOT_APPLICABLE
    )
    delivery_attempts = models.PositiveSmallIntegerField(_("delivery attempts"), default=0)
    delivery_error = models.TextField(_("last delivery error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    delivered_location = models.CharField(_("location at the site"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("opinion")
        verbose_name_plural = _("opinions")
        ordering = ["signed_at"]

    def __str__(self) -> str:
        return self.title
