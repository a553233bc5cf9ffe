from django.db import models
from django.utils.translation import gettext_lazy as _


class GrantReason(models.TextChoices):
    """Why one user may read one patient's records outside their site's own."""

    REFERRAL = "referral", _("Referral or consultation request")
    ROOM = "room", _("Consultation room participant")
    BREAK_GLASS = "break_glass", _("Emergency access (break the glass)")
