"""Resources and every version of them.

``Resource`` holds the current version of each (type, id); ``ResourceVersion``
holds every version ever written, deletions included, for vread and history
(http://hl7.org/fhir/R4/http.html#history). Content is stored as the exact
JSON served to clients, ``meta.versionId`` and ``meta.lastUpdated`` included.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Resource(models.Model):
    """The current version of one FHIR resource (a tombstone once deleted)."""

    resource_type = models.CharField(max_length=64)
    fhir_id = models.CharField(max_length=64)
    version_id = models.PositiveIntegerField()
    last_updated = models.DateTimeField()
    deleted = models.BooleanField(default=False)
    content = models.JSONField(null=True)
    source = models.CharField(max_length=255, blank=True, default="")
    # The party that owns the record (for the hub, a member site's code); access policies use it.
    owner = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("FHIR resource")
        verbose_name_plural = _("FHIR resources")
        constraints = [
            models.UniqueConstraint(fields=["resource_type", "fhir_id"], name="fhir_resource_type_id_unique")
        ]
        # No last_updated indexes here: history reads the versions, search its own index tables, and
        # every index costs each write.

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.fhir_id}/_history/{self.version_id}"


class ResourceVersion(models.Model):
    """One version of a resource, kept forever; records who wrote it and through what."""

    # No index of its own: the (resource, version_id) unique constraint's index serves it.
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="versions", db_index=False)
    resource_type = models.CharField(max_length=64)
    fhir_id = models.CharField(max_length=64)
    version_id = models.PositiveIntegerField()
    last_updated = models.DateTimeField()
    method = models.CharField(max_length=8)  # POST, PUT, PATCH, DELETE
    deleted = models.BooleanField(default=False)
    content = models.JSONField(null=True)
    source = models.CharField(max_length=255, blank=True, default="")
    owner = models.CharField(max_length=64, blank=True, default="")
    actor_kind = models.CharField(max_length=16, blank=True, default="")  # user, system, sync
    actor_id = models.CharField(max_length=128, blank=True, default="")
    actor_display = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        verbose_name = _("FHIR resource version")
        verbose_name_plural = _("FHIR resource versions")
        constraints = [
            models.UniqueConstraint(fields=["resource", "version_id"], name="fhir_version_resource_version_unique")
        ]
        indexes = [
            models.Index(fields=["last_updated"], name="fhir_version_lu"),
            models.Index(fields=["resource_type", "last_updated"], name="fhir_version_type_lu"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.fhir_id}/_history/{self.version_id}"
