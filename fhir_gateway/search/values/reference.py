"""Reference parameters (http://hl7.org/fhir/R4/search.html#reference).

A literal reference is indexed as (target type, target id), an absolute or canonical one also by its
URL; ``Reference.identifier`` goes to the token table under ``<code>:identifier`` (the
``:identifier`` modifier).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from fhir_gateway.search.fhirpath import Node
from fhir_gateway.search.values import token

TABLE = "fhir_search_reference"
COLUMNS = ("target_type", "target_id", "url")
MODIFIERS = {"", "identifier", "missing"}  # plus :[type]
_LITERAL = re.compile(r"^(?:(?P<base>.*)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def split_literal(reference: str) -> tuple[str | None, str | None, str | None]:
    """(type, id, url) of a reference string; url is set for absolute and unparseable ones."""
    found = _LITERAL.match(reference)
    if not found:
        return None, None, reference
    return found.group("type"), found.group("id"), reference if found.group("base") else None


def extract(node: Node) -> list[tuple]:
    value = node.value
    if isinstance(value, str):  # canonical
        rows = [("", (None, None, value))]
        if "|" in value:
            rows.append(("", (None, None, value.split("|", 1)[0])))
        return rows
    if not isinstance(value, dict):
        return []
    rows = []
    literal = value.get("reference")
    if isinstance(literal, str) and literal and not literal.startswith("#"):
        rows.append(("", split_literal(literal)))
    identifier = value.get("identifier")
    if isinstance(identifier, dict):
        rows.extend(("token:identifier", values) for _, values in token.extract(Node(identifier)))
    return rows


def condition_parts(value: str, modifier: str, base_url: str) -> tuple[str | None, str | None, str | None]:
    """(type, id, url) a search value asks for: ``Patient/1``, ``1`` or an absolute URL."""
    if value.startswith(base_url.rstrip("/") + "/"):
        value = value[len(base_url.rstrip("/")) + 1 :]
    kind, fhir_id, url = split_literal(value)
    if url is not None and "/" not in value and ":" not in value:
        kind, fhir_id, url = None, value, None  # a bare id
    if modifier and kind and modifier != kind:
        raise ValueError(
            _("the value names %(type)s, the modifier :%(modifier)s") % {"type": kind, "modifier": modifier}
        )
    return kind or (modifier or None), fhir_id, url


def condition(value: str, modifier: str, col, base_url: str = "") -> tuple[str, list]:
    kind, fhir_id, url = condition_parts(value, modifier, base_url)
    if url is not None:
        return f"{col('url')} = %s", [url]
    if kind:
        return f"({col('target_id')} = %s AND {col('target_type')} = %s)", [fhir_id, kind]
    return f"{col('target_id')} = %s", [fhir_id]


def sort_key(col) -> tuple[str, str]:
    return f"min({col('target_id')})", f"max({col('target_id')})"
