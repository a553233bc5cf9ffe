from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "hub.accounts"
    label = "accounts"
    verbose_name = _("Accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fhir_gateway import hooks
        from hub.accounts.fhir import actor_from_request

        hooks.register(hooks.actor_resolvers, actor_from_request)
