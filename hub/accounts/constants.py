from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COUNTY_DOCTOR = "county_doctor", _("County doctor")
    SPECIALIST = "specialist", _("Specialist")
    OFFICIAL = "official", _("Health official")
    SITE_ADMIN = "site_admin", _("Site administrator")


TOKEN_PREFIX = "ahub_"  # noqa: S105 - a public prefix, not a secret
