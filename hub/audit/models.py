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


class AuditSeal(models.Model):
    """A link of the audit trail's hash chain: the digest of every row with an id in ``(first_id - 1, last_id]``
    once no transaction could still add one there, chained to the previous seal (``hub.audit.seals``)."""

    seq = models.PositiveBigIntegerField(_("sequence"), primary_key=True)
    first_id = models.BigIntegerField(_("first row id"))
    last_id = models.BigIntegerField(_("last row id"))
    count = models.PositiveIntegerField(_("rows"))
    digest = models.CharField(_("digest of the rows"), max_length=64)
    previous = models.CharField(_("previous seal's hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)
    sealed_at = models.DateTimeField(_("sealed at"))

    class Meta:
        verbose_name = _("audit seal")
        verbose_name_plural = _("audit seals")
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} ({self.first_id}..{self.last_id}, {self.count} rows)"


class AuditSealMark(models.Model):
    """The next seal's candidate: rows up to ``upto_id`` are sealed once every transaction of this database that
    was open when it was taken (``running``: JSON ``[[pid, xact_start], ...]``) has ended. One row."""

    upto_id = models.BigIntegerField(_("up to row id"))
    running = models.TextField(_("transactions open then"))
    taken_at = models.DateTimeField(_("taken at"))

    class Meta:
        verbose_name = _("audit seal mark")
        verbose_name_plural = _("audit seal marks")

    def __str__(self) -> str:
        return f"up to {self.upto_id}"
