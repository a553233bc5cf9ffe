"""Pagination of the REST API's lists: ``?limit=&offset=``, refused with 400 when not whole numbers in range.

DRF's ``LimitOffsetPagination`` silently ignores a bad ``limit`` (``?limit=abc`` gives the default page), so a
client never learns its request was wrong; here it is an error, as the OpenAPI schema says.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 200


class StrictLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def _number(self, request, name: str, default: int, minimum: int, maximum: int | None) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
            raise ValidationError({name: [_("A whole number is required.")]})
        value = int(raw)
        if value < minimum or (maximum is not None and value > maximum):
            raise ValidationError({name: [_("Out of range.")]})
        return value

    def get_limit(self, request):
        return self._number(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request):
        return self._number(request, self.offset_query_param, 0, 0, None)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_limit, "default": self.default_limit})
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update({"minimum": 0, "default": 0, "maximum": 999_999_999})
        return parameters

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        answer["required"] = ["count", "next", "previous", "results"]
        answer["properties"]["count"]["minimum"] = 0
        return answer
