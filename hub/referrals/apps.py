from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "hub.referrals"
    label = "referrals"
    verbose_name = _("Referrals and consultations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hub.referrals import caches

        caches.connect()

        from federation.outbox.registry import handler_register
        from hub.referrals.services.delivery import OUTBOX_KIND, opinion_delivery_recorded, opinion_send

        handler_register(OUTBOX_KIND, send=opinion_send, recorded=opinion_delivery_recorded)
