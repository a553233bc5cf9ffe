from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsultationsConfig(AppConfig):
    name = "hub.consultations"
    label = "consultations"
    verbose_name = _("Consultation rooms")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hub.consultations import hooks, janus

        hooks.connect()
        janus.handlers_register()
