"""URI parameters, with ``:above`` and ``:below`` (http://hl7.org/fhir/R4/search.html#uri)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from fhir_gateway.errors import FhirError
from fhir_gateway.search.fhirpath import Node

TABLE = "fhir_search_uri"
COLUMNS = ("value",)
MODIFIERS = {"", "above", "below", "missing"}


def extract(node: Node) -> list[tuple]:
    value = node.value
    if isinstance(value, str) and value:
        return [("", (value[:2000],))]
    if isinstance(value, dict) and isinstance(value.get("url"), str):  # Attachment, Endpoint address
        return [("", (value["url"][:2000],))]
    return []


def condition(value: str, modifier: str, col) -> tuple[str, list]:
    from fhir_gateway.search.values import like_escape

    if modifier == "below":
        return f"{col('value')} LIKE %s", [like_escape(value) + "%"]
    if modifier == "above":
        return f"(%s LIKE replace(replace({col('value')}, '%%', '\\%%'), '_', '\\_') || '%%')", [value]
    if modifier:
        raise FhirError(
            400,
            _("Modifier :%(modifier)s is not supported on %(kind)s parameters") % {"modifier": modifier, "kind": "uri"},
            code="not-supported",
        )
    return f"{col('value')} = %s", [value]


def sort_key(col) -> tuple[str, str]:
    return f"min({col('value')})", f"max({col('value')})"
