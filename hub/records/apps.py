from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    """The readable patient record: summary, labs, vitals, documents, ECGs and images, wherever a record is shown."""

    name = "hub.records"
    label = "records"
    verbose_name = _("Patient records")
