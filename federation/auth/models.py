"""A member site's system credentials: an OAuth2 client (client credentials grant) tied to one site."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings

from federation.sites.models import Site


class SiteClient(models.Model):
    """An OAuth2 client of a site's system, with the SMART backend-services scopes it may ask for."""

    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.CASCADE, related_name="clients")
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="site_client"
    )
    scopes = models.TextField(
        _("allowed scopes"), help_text=_("Space-separated SMART scopes, e.g. system/*.read system/Patient.write")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("site system client")
        verbose_name_plural = _("site system clients")

    def __str__(self) -> str:
        return f"{self.site.code}: {self.application.name}"

    @property
    def allowed_scopes(self) -> list[str]:
        return self.scopes.split()
