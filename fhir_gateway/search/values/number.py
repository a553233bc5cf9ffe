"""Number parameters: a search value is a range by its significant digits (``100`` is [99.5, 100.5)).

http://hl7.org/fhir/R4/search.html#number. Also used for Location ``near``, whose latitude and
longitude are indexed as numbers.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from fhir_gateway.search.fhirpath import Node
from fhir_gateway.search.values.date import split_prefix

TABLE = "fhir_search_number"
COLUMNS = ("value",)
MODIFIERS = {"", "missing"}


def finite(value: object) -> float | None:
    """``value`` as a float8 can hold it, or ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def extract(node: Node) -> list[tuple]:
    value = node.value
    if (number := finite(value)) is not None:
        return [("", (number,))]
    if isinstance(value, dict) and "latitude" in value:
        lat, lon = finite(value.get("latitude")), finite(value.get("longitude"))
        return [(":lat", (lat,)), (":lon", (lon,))] if lat is not None and lon is not None else []
    if isinstance(value, dict) and (number := finite(value.get("value"))) is not None:
        return [("", (number,))]
    return []


def parse_number(text: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("not a number: %(value)r") % {"value": text}) from None
    if not number.is_finite():
        raise ValueError(_("not a number: %(value)r") % {"value": text})
    return number


def bounds(number: Decimal) -> tuple[Decimal, Decimal]:
    """The range of values equal to ``number`` at its precision."""
    half = Decimal(5).scaleb(number.as_tuple().exponent - 1)
    return number - half, number + half


def compare(prefix: str, number: Decimal, column: str, convert=float) -> tuple[str, list]:
    """Values are stored as float8: compare with floats (an out-of-range number becomes +-infinity or 0).

    ``convert`` turns each bound (a Decimal) into the float compared, e.g. in canonical units.
    """
    sql, args = _compare(prefix, number, column)
    return sql, [convert(arg) for arg in args]


def _compare(prefix: str, number: Decimal, column: str) -> tuple[str, list]:
    lo, hi = bounds(number)
    if prefix == "eq":
        return f"({column} >= %s AND {column} < %s)", [lo, hi]
    if prefix == "ne":
        return f"NOT ({column} >= %s AND {column} < %s)", [lo, hi]
    if prefix in ("gt", "sa"):
        return f"{column} > %s", [number]
    if prefix in ("lt", "eb"):
        return f"{column} < %s", [number]
    if prefix == "ge":
        return f"{column} >= %s", [number]
    if prefix == "le":
        return f"{column} <= %s", [number]
    margin = abs(number) * Decimal("0.1")  # ap: within 10%
    return f"({column} >= %s AND {column} <= %s)", [number - margin, number + margin]


def condition(value: str, modifier: str, col) -> tuple[str, list]:
    prefix, text = split_prefix(value)
    return compare(prefix, parse_number(text), col("value"))


def sort_key(col) -> tuple[str, str]:
    return f"min({col('value')})", f"max({col('value')})"
