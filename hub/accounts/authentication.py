from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from hub.accounts.middleware import bearer_token
from hub.accounts.services import api_token_authenticate


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """DRF side of the bearer tokens issued by ``manage.py api_token``."""

    def authenticate(self, request):
        django_request = request._request
        if getattr(django_request, "auth_method", None) == "token":
            return django_request.user, None  # BearerTokenMiddleware has already checked it
        raw = bearer_token(django_request)
        if raw is None:
            return None
        user = api_token_authenticate(raw)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid or expired bearer token."))
        return user, None

    def authenticate_header(self, request) -> str:
        return "Bearer"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "hub.accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "manage.py api_token USERNAME"}
