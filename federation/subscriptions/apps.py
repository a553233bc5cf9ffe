from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "federation.subscriptions"
    label = "subscriptions"
    verbose_name = _("FHIR Subscriptions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from federation.subscriptions import capability, delivery, listener, secrets
        from fhir_gateway import hooks

        delivery.handlers_register()
        hooks.register(hooks.write_stampers, secrets.header_values_hide)
        hooks.register(hooks.write_listeners, listener.changes_heard)
        hooks.register(hooks.capability_contributors, capability.capability_contribute)
