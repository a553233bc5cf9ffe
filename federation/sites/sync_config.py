"""How the hub reaches each site's FHIR endpoint, and how that has been going (health)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from federation.sites.models import Site

DEFAULT_RESOURCE_TYPES = ["Patient", "Encounter", "Condition", "Observation"]


class HealthState(models.TextChoices):
    UNKNOWN = "unknown", _("not synced yet")
    HEALTHY = "healthy", _("healthy")
    DEGRADED = "degraded", _("degraded")
    DOWN = "down", _("down")


class SiteSync(models.Model):
    """A site's sync configuration (endpoint, credentials, schedule) and its health."""

    site = models.OneToOneField(Site, verbose_name=_("site"), on_delete=models.CASCADE, related_name="sync")
    base_url = models.URLField(_("FHIR base URL"), max_length=500)
    bearer_token = models.CharField(
        _("bearer token"), max_length=500, blank=True, help_text=_("Sent to the site's endpoint, if it needs one.")
    )
    resource_types = models.JSONField(_("resource types"), default=list, blank=True)
    interval_seconds = models.PositiveIntegerField(_("every (seconds)"), default=300)
    page_size = models.PositiveIntegerField(_("page size"), default=200)
    timeout_seconds = models.FloatField(_("timeout (seconds)"), default=10.0)
    # For a site without type-level history: how often its ids are listed to find deleted records (0: never).
    reconcile_seconds = models.PositiveIntegerField(_("reconcile deletions every (seconds)"), default=86400)
    last_reconciled_at = models.DateTimeField(_("last reconciled"), null=True, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    state = models.CharField(_("state"), max_length=10, choices=HealthState.choices, default=HealthState.UNKNOWN)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    # The circuit breaker: while open, the site is not called before this moment (then probed once).
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    recent_errors = models.JSONField(_("recent errors"), default=list, blank=True)

    class Meta:
        verbose_name = _("site sync")
        verbose_name_plural = _("site syncs")

    def __str__(self) -> str:
        return f"{self.site.code} <- {self.base_url}"

    @property
    def types(self) -> list[str]:
        return list(self.resource_types or DEFAULT_RESOURCE_TYPES)
