from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SiteKind(models.TextChoices):
    ALLIANCE = "alliance", _("Medical alliance")
    GENERAL = "general", _("General hospital")
    COUNTY = "county", _("County hospital")


class Specialty(models.TextChoices):
    """Departments' specialties, the targets of routing."""

    EMERGENCY = "emergency", pgettext_lazy("specialty", "Emergency")
    CARDIOLOGY = "cardiology", _("Cardiology")
    NEUROLOGY = "neurology", _("Neurology")
    IMAGING = "imaging", _("Ultrasound and imaging")
    ICU = "icu", _("Intensive care")
    TOXICOLOGY = "toxicology", _("Toxicology")
    TRAUMA = "trauma", _("Trauma surgery")
    INTERNAL = "internal", _("Internal medicine")
    GENERAL_SURGERY = "surgery", _("General surgery")
    PEDIATRICS = "pediatrics", _("Pediatrics")
    REHABILITATION = "rehabilitation", _("Rehabilitation")
