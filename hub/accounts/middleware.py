"""Bearer-token authentication for every endpoint of the hub (FHIR included)."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.translation import gettext as _

from hub.accounts.constants import TOKEN_PREFIX
from hub.accounts.services import api_token_authenticate


def bearer_token(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class BearerTokenMiddleware:
    """Sets ``request.user`` from ``Authorization: Bearer <token>`` and exempts it from CSRF.

    Runs before Django's AuthenticationMiddleware, which leaves an already-set
    user alone. An invalid token is refused here with 401 rather than silently
    treated as anonymous.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = bearer_token(request)
        # Other bearer tokens (site systems' OAuth2 access tokens) are checked by the federation's FHIR actor resolver.
        if raw is not None and raw.startswith(TOKEN_PREFIX):
            user = api_token_authenticate(raw)
            if user is None:
                return _unauthorized(request)
            request.user = user
            request._cached_user = user
            request.auth_method = "token"
            request._dont_enforce_csrf_checks = True
        return self.get_response(request)


def _unauthorized(request) -> JsonResponse:
    message = _("Invalid or expired bearer token.")
    if request.path.startswith("/fhir"):
        body = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "login", "diagnostics": message}],
        }
        response = JsonResponse(body, status=401, content_type="application/fhir+json")
    else:
        response = JsonResponse({"error": "unauthorized", "detail": message}, status=401)
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


__all__ = ["BearerTokenMiddleware", "bearer_token"]
