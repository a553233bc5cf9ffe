from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FhirGatewayConfig(AppConfig):
    name = "fhir_gateway"
    verbose_name = _("FHIR gateway")
    default_auto_field = "django.db.models.BigAutoField"
