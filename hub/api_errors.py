"""One place where API errors become JSON: ``{"error": code, "detail": message}``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A refused domain action; ``status`` is the HTTP status the API answers with."""

    status = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status_code:
            self.status = status_code


class ConflictError(DomainError):
    status = status.HTTP_409_CONFLICT
    code = "conflict"


class ForbiddenError(DomainError):
    status = status.HTTP_403_FORBIDDEN
    code = "forbidden"


class NotFoundError(DomainError):
    status = status.HTTP_404_NOT_FOUND
    code = "not_found"


def database_unavailable(exc) -> bool:
    """The database was unreachable or the connection was cut mid-request: 503, retry; not a 500."""
    import psycopg
    from django.db import InterfaceError, OperationalError

    # Django's wrappers, or psycopg's own where the gateway drives a raw cursor (COPY).
    return isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError)


def unavailable_response() -> JsonResponse:
    from django.utils.translation import gettext as _

    body = {"error": "unavailable", "detail": _("The database is not reachable at the moment; try again shortly.")}
    return JsonResponse(body, status=503, headers={"Retry-After": "5"})


class DatabaseUnavailableMiddleware:
    """Pages and APIs answer 503 (retry) when the database is unreachable, never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_unavailable(exception):
            return None
        import logging

        logging.getLogger(__name__).warning("%s %s: database unavailable (%s)", request.method, request.path, exception)
        return unavailable_response()


def exception_handler(exc, context):
    if database_unavailable(exc):
        return unavailable_response()
    if isinstance(exc, DomainError):
        return Response({"error": exc.code, "detail": exc.message}, status=exc.status)
    if isinstance(exc, ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return Response({"error": "invalid", "detail": detail}, status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        code = getattr(data["detail"], "code", "error")
        response.data = {"error": code, "detail": str(data["detail"])}
    else:
        response.data = {"error": "invalid", "detail": data}
    return response


def json_error(status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status_code)
