from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FederationConfig(AppConfig):
    name = "federation"
    verbose_name = _("Federation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from federation.auth.services import actor_resolve, token_resolve
        from federation.capability import capability_contribute
        from fhir_gateway import hooks

        hooks.register(hooks.actor_resolvers, actor_resolve)
        hooks.register(hooks.token_resolvers, token_resolve)
        hooks.register(hooks.capability_contributors, capability_contribute)
