"""Export jobs and the files they produced."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportStatus(models.TextChoices):
    ACCEPTED = "accepted", _("accepted")
    IN_PROGRESS = "in-progress", _("in progress")
    COMPLETED = "completed", _("completed")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


class ExportJob(models.Model):
    """One ``$export`` request: who asked, what for, and how far the worker has come."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The requester, as the gateway's Actor: only they poll the status and fetch the files.
    actor_kind = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=128)
    actor_site = models.CharField(max_length=64, blank=True, default="")
    actor_display = models.CharField(max_length=255, blank=True, default="")
    actor_scopes = models.JSONField(default=list, blank=True)
    level = models.CharField(max_length=16)  # system, patient, group
    group_id = models.CharField(max_length=64, blank=True, default="")
    types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    type_filters = models.JSONField(default=dict, blank=True)  # {type: [query, ...]}
    request_url = models.TextField()
    status = models.CharField(max_length=12, choices=ExportStatus.choices, default=ExportStatus.ACCEPTED)
    error = models.TextField(blank=True, default="")
    total = models.BigIntegerField(null=True, blank=True)
    done = models.BigIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()  # the manifest's transactionTime
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("FHIR export")
        verbose_name_plural = _("FHIR exports")
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="fhir_export_status_beat"),
            models.Index(fields=["actor_kind", "actor_id", "status"], name="fhir_export_actor"),
        ]

    def __str__(self) -> str:
        return f"$export {self.uid} ({self.status})"


class ExportFile(models.Model):
    """One NDJSON file of a job: resources of one type, a part of at most ``FHIR_EXPORT_FILE_RESOURCES``."""

    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="files")
    resource_type = models.CharField(max_length=64)
    part = models.PositiveIntegerField()
    name = models.CharField(max_length=255)  # in the exports storage
    count = models.PositiveIntegerField(default=0)
    size = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("FHIR export file")
        verbose_name_plural = _("FHIR export files")
        ordering = ["resource_type", "part"]
        constraints = [models.UniqueConstraint(fields=["job", "resource_type", "part"], name="fhir_export_file_part")]

    def __str__(self) -> str:
        return self.name
