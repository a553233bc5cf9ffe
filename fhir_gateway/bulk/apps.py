from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FhirBulkConfig(AppConfig):
    name = "fhir_gateway.bulk"
    label = "fhir_bulk"
    verbose_name = _("FHIR bulk export")
    default_auto_field = "django.db.models.BigAutoField"
