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


def exception_handler(exc, context):
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
