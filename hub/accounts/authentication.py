from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from hub.accounts.middleware import bearer_token
from hub.accounts.services import api_token_authenticate


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """DRF side of the bearer tokens issued by ``manage.py api_token``."""

    def authenticate(self, request):
        raw = bearer_token(request._request)
        if raw is None:
            return None
        user = api_token_authenticate(raw)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid or expired bearer token."))
        return user, raw

    def authenticate_header(self, request) -> str:
        return "Bearer"
