from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FhirSearchConfig(AppConfig):
    name = "fhir_gateway.search"
    label = "fhir_search"
    verbose_name = _("FHIR search")
    default_auto_field = "django.db.models.BigAutoField"
