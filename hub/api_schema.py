"""What every API operation documents besides its success: the error bodies (``hub.api_errors``) and their codes.

Every error the hub's REST API answers is ``{"error": code, "detail": ...}``: ``detail`` is a message, or for
invalid input the serializer's ``{field: [messages]}``.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": serializers.CharField(help_text="a machine-readable code, e.g. not_found, invalid, forbidden"),
        "detail": serializers.JSONField(
            help_text="a message in the caller's language; for invalid input, the messages by field"
        ),
    },
)

_MEANING = {
    400: "The input is invalid or the action is refused in this state.",
    401: "No valid credentials (a session, or an `Authorization: Bearer` token).",
    403: "The caller's role may not do this.",
    404: "No such object, or not one the caller may see (the two answer alike).",
    405: "Method not allowed.",
    406: "The Accept header asks for a type this operation does not produce.",
    409: "Someone else changed it first (e.g. already accepted).",
    415: "The request body's media type is not accepted.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation: 401, 403, 405, 406 and 415 always, plus ``codes``."""
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=_MEANING[code])
        for code in sorted({401, 403, 405, 406, *codes})
    }
