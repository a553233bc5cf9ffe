from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One read or write of records: who, through what, on what patient, with what outcome. Append-only."""

    recorded_at = models.DateTimeField(_("recorded at"), db_index=True)
    actor_kind = models.CharField(_("actor kind"), max_length=16)
    actor_id = models.CharField(_("actor"), max_length=128, blank=True)
    actor_display = models.CharField(_("actor name"), max_length=255, blank=True)
    actor_site = models.CharField(_("actor's site"), max_length=64, blank=True)
    action = models.CharField(_("action"), max_length=32)
    resource_type = models.CharField(_("resource type"), max_length=64, blank=True)
    fhir_id = models.CharField(_("resource id"), max_length=64, blank=True)
    patient = models.CharField(_("patient"), max_length=100, blank=True)
    owner = models.CharField(_("record owner"), max_length=64, blank=True)
    status = models.PositiveSmallIntegerField(_("HTTP status"))
    success = models.BooleanField(_("success"))
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-recorded_at", "-id"]
        # What the audit views filter by (a site's events, a patient's), newest first. Declared here rather
        # than with db_index, which would add a second, pattern-matching index per column: every read of a
        # record appends a row, so each index is paid for on the hottest path.
        indexes = [
            models.Index(fields=["actor_kind", "actor_id", "recorded_at"], name="audit_actor_time"),
            models.Index(fields=["actor_site", "recorded_at"], name="audit_site_time"),
            models.Index(fields=["owner", "recorded_at"], name="audit_owner_time"),
            models.Index(fields=["patient", "recorded_at"], name="audit_patient_time"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.recorded_at:%Y-%m-%d %H:%M:%S} {self.actor_display or self.actor_id} {self.action} "
            f"{self.resource_type}/{self.fhir_id} → {self.status}"
        )
