from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "hub.accounts"
    label = "accounts"
    verbose_name = _("Accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fhir_gateway import hooks
        from hub.accounts.fhir import actor_from_request, actor_from_token

        hooks.register(hooks.actor_resolvers, actor_from_request)
        hooks.register(hooks.token_resolvers, actor_from_token)

        from django.db.models.signals import post_delete, post_save

        from hub.accounts.services import api_token_cache_clear

        for model in ("accounts.User", "accounts.ApiToken"):
            post_save.connect(api_token_cache_clear, sender=model, dispatch_uid=f"token-cache-{model}-save")
            post_delete.connect(api_token_cache_clear, sender=model, dispatch_uid=f"token-cache-{model}-delete")

        # hardening: a site system's client secret is stored hashed whatever the form said (DOT's registration
        # page has an unticked "hash client secret" box that would store it as typed).
        from django.db.models.signals import pre_save

        pre_save.connect(_hash_client_secret, sender="oauth2_provider.Application", dispatch_uid="oauth-hash-secret")


def _hash_client_secret(sender, instance, **kwargs) -> None:
    instance.hash_client_secret = True
