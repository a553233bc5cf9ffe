"""What every API operation documents besides its success: the error bodies (``hub.api_errors``) and their codes.

Every error the hub's REST API answers is ``{"error": code, "detail": ...}``: ``detail`` is a message, or for
invalid input the serializer's ``{field: [messages]}``.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
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
    503: "The database is unreachable for a moment (with Retry-After): try again.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation: 401, 403, 405, 406 and 503 always, plus ``codes``."""
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=_MEANING[code])
        for code in sorted({401, 403, 405, 406, 503, *codes})
    }


# What DRF's CharField refuses, said in the schema: null characters always, and (unless blank is allowed)
# text that is empty once trimmed. JSON Schema patterns are unanchored: these are anchored on purpose.
NONBLANK_TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"
ANY_TEXT = r"^[^\x00]*$"
# Request components that refuse keys they do not name (the others ignore unknown keys).
CLOSED_COMPONENTS = ("TimeNodeTimes",)


class HubAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus what a request's free text must be (``NONBLANK_TEXT``, ``ANY_TEXT``)."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        free_text = isinstance(field, serializers.CharField) and schema.get("type") == "string"
        if direction == "request" and free_text and not {"enum", "format", "pattern"} & schema.keys():
            if field.allow_blank:
                schema["pattern"] = ANY_TEXT
            else:
                schema["minLength"] = max(schema.get("minLength", 0), 1)
                schema["pattern"] = NONBLANK_TEXT
        return schema


def closed_components(result, generator, request, public):
    """drf-spectacular postprocessing hook: ``additionalProperties: false`` where unknown keys are refused."""
    components = result.get("components", {}).get("schemas", {})
    for name in CLOSED_COMPONENTS:
        if name in components:
            components[name]["additionalProperties"] = False
    return result
