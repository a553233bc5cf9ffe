"""Quantity parameters: ``[prefix]number|system|code`` (http://hl7.org/fhir/R4/search.html#quantity).

Units match by system and code, or by code or unit text when no system is given; no UCUM conversion.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from fhir_gateway.search.fhirpath import Node
from fhir_gateway.search.values.date import split_prefix
from fhir_gateway.search.values.number import compare, finite, parse_number

TABLE = "fhir_search_quantity"
COLUMNS = ("value", "system", "code", "unit")
MODIFIERS = {"", "missing"}


def extract(node: Node) -> list[tuple]:
    value = node.value
    if not isinstance(value, dict):
        return []
    if (number := finite(value.get("value"))) is not None:
        code = value.get("code") or value.get("currency")
        return [("", (number, value.get("system"), code, value.get("unit")))]
    rows: list[tuple] = []
    for bound in ("low", "high"):  # Range
        if isinstance(value.get(bound), dict):
            rows.extend(extract(Node(value[bound])))
    return rows


def condition(value: str, modifier: str, col) -> tuple[str, list]:
    parts = value.split("|")
    if len(parts) not in (1, 3):
        raise ValueError(_("expected number|system|code"))
    prefix, text = split_prefix(parts[0])
    sql, args = compare(prefix, parse_number(text), col("value"))
    if len(parts) == 3:
        system, code = parts[1], parts[2]
        if system:
            sql += f" AND {col('system')} = %s"
            args.append(system)
        if code and system:
            sql += f" AND {col('code')} = %s"
            args.append(code)
        elif code:
            sql += f" AND ({col('code')} = %s OR {col('unit')} = %s)"
            args += [code, code]
    return f"({sql})", args


def sort_key(col) -> tuple[str, str]:
    return f"min({col('value')})", f"max({col('value')})"
