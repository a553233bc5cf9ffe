"""The master patient index: golden records, the site records linked to them, reviews and the audit of links."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class GoldenRecord(models.Model):
    """One person across the alliance: the master Patient that links each site's Patient."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    active = models.BooleanField(_("active"), default=True)
    # After a merge the retired record points at the one that survived.
    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("golden record")
        verbose_name_plural = _("golden records")

    def __str__(self) -> str:
        return f"Patient/{self.fhir_id}"

    @property
    def fhir_id(self) -> str:
        return str(self.uid)


class LinkMethod(models.TextChoices):
    NEW = "new", _("new person")
    AUTO = "auto", _("linked automatically")
    MANUAL = "manual", _("linked by a person")


class MpiRecord(models.Model):
    """One site's Patient as the master patient index knows it."""

    site_code = models.CharField(_("site"), max_length=64, db_index=True)
    patient_id = models.CharField(_("Patient id"), max_length=64, unique=True)
    golden = models.ForeignKey(GoldenRecord, on_delete=models.PROTECT, related_name="records")
    features = models.JSONField(default=dict)
    method = models.CharField(_("how linked"), max_length=10, choices=LinkMethod.choices, default=LinkMethod.NEW)
    score = models.FloatField(_("score"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("MPI record")
        verbose_name_plural = _("MPI records")

    def __str__(self) -> str:
        return f"{self.site_code}: Patient/{self.patient_id}"


class MpiBlockKey(models.Model):
    """A blocking key of a record: candidates are the records sharing one (btree lookups, bulk-friendly)."""

    key = models.CharField(max_length=200, db_index=True)
    record = models.ForeignKey(MpiRecord, on_delete=models.CASCADE, related_name="keys")

    class Meta:
        verbose_name = _("MPI blocking key")
        verbose_name_plural = _("MPI blocking keys")

    def __str__(self) -> str:
        return self.key


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    LINKED = "linked", _("linked")
    REJECTED = "rejected", _("not the same person")


class MatchReview(models.Model):
    """A probable match (between the review and auto-link thresholds) waiting for a site admin."""

    record = models.ForeignKey(MpiRecord, verbose_name=_("record"), on_delete=models.CASCADE, related_name="reviews")
    candidate = models.ForeignKey(
        GoldenRecord, verbose_name=_("candidate"), on_delete=models.CASCADE, related_name="reviews"
    )
    score = models.FloatField(_("score"))
    details = models.JSONField(default=dict)
    status = models.CharField(_("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    decided_by = models.CharField(_("decided by"), max_length=150, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("match to review")
        verbose_name_plural = _("matches to review")
        ordering = ["-score"]
        constraints = [models.UniqueConstraint(fields=["record", "candidate"], name="mpi_review_unique_pair")]

    def __str__(self) -> str:
        return f"{self.record} ~ {self.candidate} ({self.score})"


class LinkAction(models.TextChoices):
    LINK = "link", _("link")
    UNLINK = "unlink", _("unlink")
    MERGE = "merge", _("merge")
    REVERT = "revert", _("revert")
    REMOVE = "remove", _("remove (deleted at its site)")


class LinkEvent(models.Model):
    """Audit of a manual identity decision; each one can be reverted."""

    action = models.CharField(_("action"), max_length=10, choices=LinkAction.choices)
    record = models.ForeignKey(MpiRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_golden = models.ForeignKey(GoldenRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_golden = models.ForeignKey(GoldenRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # For a merge: the records that moved, so that the merge can be undone exactly.
    moved_records = models.JSONField(default=list, blank=True)
    actor = models.CharField(_("by"), max_length=150)
    reason = models.TextField(_("reason"), blank=True)
    reverted_by = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reverts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("identity decision")
        verbose_name_plural = _("identity decisions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.record or ''} {self.from_golden or ''} -> {self.to_golden or ''}"
