"""The pull engine's memory: where each site's sync stands, what it did, and what it could not store."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from federation.sites.sync_config import SiteSync


class SyncCursor(models.Model):
    """The ``_lastUpdated`` of the last page committed for one resource type of one site."""

    sync = models.ForeignKey(SiteSync, on_delete=models.CASCADE, related_name="cursors")
    resource_type = models.CharField(max_length=64)
    since = models.CharField(_("synced up to"), max_length=40, blank=True)
    # Where the site's history was last read for deletions (``federation.sync.deletions``).
    deletions_since = models.CharField(_("deletions read up to"), max_length=40, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sync cursor")
        verbose_name_plural = _("sync cursors")
        constraints = [models.UniqueConstraint(fields=["sync", "resource_type"], name="sync_cursor_unique_type")]

    def __str__(self) -> str:
        return f"{self.sync.site.code} {self.resource_type} >= {self.since}"


class SyncRun(models.Model):
    """One pass of the pull engine over a site."""

    sync = models.ForeignKey(SiteSync, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0)
    stored = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    dead_lettered = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)  # records deleted at the site, deleted at the hub too
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.sync.site.code} {self.started_at:%Y-%m-%d %H:%M:%S}"


class DeadLetter(models.Model):
    """A record a site sent that the hub could not store, with why; retryable once the site fixes it."""

    site_code = models.CharField(_("site"), max_length=64, db_index=True)
    resource_type = models.CharField(_("resource type"), max_length=64)
    source_id = models.CharField(_("id at the site"), max_length=64)
    content = models.JSONField(_("content"), null=True)
    error = models.JSONField(_("error"), default=dict)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    resolved = models.BooleanField(_("resolved"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["site_code", "resource_type", "source_id"], name="dead_letter_unique_source_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.site_code}: {self.resource_type}/{self.source_id}"
