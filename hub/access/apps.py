from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "hub.access"
    label = "access"
    verbose_name = _("Access rules")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """The one place the rules are plugged in: the FHIR gateway's hooks and the federation's endpoints."""
        from federation import hooks as federation_hooks
        from fhir_gateway import hooks
        from hub.access import actors, endpoints, gateway

        hooks.register(hooks.search_scopes, gateway.visibility_of)
        hooks.register(hooks.access_policies, gateway.access_policy)
        hooks.register(hooks.write_stampers, gateway.stamp)
        federation_hooks.register(federation_hooks.endpoint_policies, endpoints.federation_endpoint_allowed)
        post_save.connect(actors.forget_user, sender="accounts.User", dispatch_uid="access-forget-user")
