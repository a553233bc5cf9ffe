from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.access.constants import GrantReason, ReviewStatus


class AccessGrant(models.Model):
    """A share of one patient's records with one user, for a reason and a period; closed, never deleted."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="access_grants"
    )
    patient_ref = models.CharField(_("patient"), max_length=100)
    reason = models.CharField(_("reason"), max_length=16, choices=GrantReason.choices)
    # What the grant comes from, e.g. "room:12" or "referral:7": closing a source closes its grants.
    source = models.CharField(_("source"), max_length=64)
    justification = models.TextField(_("justification"), blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The site that owned the patient's record when the grant opened: whose administrator reviews it.
    patient_site = models.CharField(_("patient's site"), max_length=64, blank=True, db_index=True)
    review_status = models.CharField(_("review"), max_length=12, choices=ReviewStatus.choices, blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)

    class Meta:
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")
        indexes = [
            models.Index(fields=["user", "closed_at"], name="grant_user_open"),
            models.Index(fields=["source"], name="grant_source"),
        ]
        permissions = [
            ("audit_all", _("Read the whole audit trail (hub auditor)")),
            ("break_glass", _("Open a patient's record in an emergency (break the glass)")),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.patient_ref} ({self.reason}, {self.source})"
