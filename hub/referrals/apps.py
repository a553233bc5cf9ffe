from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "hub.referrals"
    label = "referrals"
    verbose_name = _("Referrals and consultations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fhir_gateway import hooks
        from hub.referrals import caches
        from hub.referrals.fhir.policy import signed_opinions_are_immutable

        hooks.register(hooks.access_policies, signed_opinions_are_immutable)
        caches.connect()
