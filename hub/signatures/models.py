"""Clinicians' signing keys: Ed25519 key pairs, the private half encrypted at rest."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

ED25519 = "Ed25519"


class SigningKey(models.Model):
    """One clinician's key pair: the public key is published, the private key is stored encrypted (AES-GCM)."""

    key_id = models.CharField(_("key id"), max_length=32, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="signing_keys"
    )
    algorithm = models.CharField(_("algorithm"), max_length=16, default=ED25519)
    public_key = models.CharField(_("public key"), max_length=64)  # base64 of the raw 32 bytes
    private_key_encrypted = models.TextField(_("encrypted private key"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="one_active_key_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.key_id} ({self.user})"
