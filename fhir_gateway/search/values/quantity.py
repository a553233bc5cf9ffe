"""Quantity parameters: ``[prefix]number|system|code`` (http://hl7.org/fhir/R4/search.html#quantity).

A UCUM quantity is also indexed in canonical units (``ucum``), and a search in a UCUM unit the
canonicaliser knows compares there: ``5.4|http://unitsofmeasure.org|mmol/L`` finds 5400 umol/L but
never mg/dL (another dimension). Otherwise units match by system and code, or by code or unit text
when no system is given.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from fhir_gateway.search import ucum
from fhir_gateway.search.fhirpath import Node
from fhir_gateway.search.values.date import split_prefix
from fhir_gateway.search.values.number import compare, finite, parse_number

TABLE = "fhir_search_quantity"
COLUMNS = ("value", "system", "code", "unit", "canon_value", "canon_unit")
MODIFIERS = {"", "missing"}


def extract(node: Node) -> list[tuple]:
    value = node.value
    if not isinstance(value, dict):
        return []
    if (number := finite(value.get("value"))) is not None:
        code = value.get("code") or value.get("currency")
        system = value.get("system")
        canon = ucum.canonical(value["value"], code) if system == ucum.SYSTEM else None
        return [("", (number, system, code, value.get("unit"), *(canon or (None, None))))]
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
    number = parse_number(text)
    unit = ucum.parse(parts[2]) if len(parts) == 3 and parts[1] == ucum.SYSTEM else None
    if unit is not None:  # compare in canonical units (conversion keeps the order of values)
        sql, args = compare(prefix, number, col("canon_value"), lambda bound: float(ucum.to_canonical(bound, unit)))
        return f"({col('canon_unit')} = %s AND {sql})", [unit.canonical, *args]
    sql, args = compare(prefix, number, col("value"))
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
    # UCUM quantities by their canonical value (500 mg before 1 g), others by the value as written.
    value = f"coalesce({col('canon_value')}, {col('value')})"
    return f"min({value})", f"max({value})"
