"""Date parameters: every value is a range by its precision (``2020`` is the whole year).

http://hl7.org/fhir/R4/search.html#date. Ranges are half-open ``[lo, hi)``; an open Period end is
``infinity``. Values without a time zone are taken as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from django.utils.translation import gettext as _

from fhir_gateway.search.fhirpath import Node

TABLE = "fhir_search_date"
COLUMNS = ("lo", "hi")
MODIFIERS = {"", "missing"}
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_DATE = re.compile(
    r"^(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2})(T(?P<H>\d{2}):(?P<M>\d{2})(:(?P<S>\d{2})(?P<f>\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
LOW, HIGH = "-infinity", "infinity"


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.month - 1 + months
    return moment.replace(year=moment.year + total // 12, month=total % 12 + 1)


def parse_range(text: str) -> tuple[datetime, datetime]:
    """``[lo, hi)`` of a FHIR date, dateTime or instant; ValueError when malformed."""
    found = _DATE.match(text.strip())
    if not found:
        raise ValueError(_("not a FHIR date: %(value)r") % {"value": text})
    parts = found.groupdict()
    tz = UTC
    if parts["tz"] and parts["tz"] != "Z":
        sign = 1 if parts["tz"][0] == "+" else -1
        hours, minutes = parts["tz"][1:].split(":")
        tz = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
    start = datetime(
        int(parts["y"]),
        int(parts["m"] or 1),
        int(parts["d"] or 1),
        int(parts["H"] or 0),
        int(parts["M"] or 0),
        int(parts["S"] or 0),
        int(float(parts["f"]) * 1_000_000) if parts["f"] else 0,
        tzinfo=tz,
    )
    try:
        if parts["f"]:
            end = start + timedelta(microseconds=1)
        elif parts["S"]:
            end = start + timedelta(seconds=1)
        elif parts["M"]:
            end = start + timedelta(minutes=1)
        elif parts["d"]:
            end = start + timedelta(days=1)
        elif parts["m"]:
            end = _add_months(start, 1)
        else:
            end = start.replace(year=start.year + 1)
    except (ValueError, OverflowError):  # the range runs to the end of the calendar
        end = datetime.max.replace(tzinfo=UTC)
    return start, end


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _ranges(value: object) -> list[tuple[str, str]]:
    if isinstance(value, str):
        try:
            lo, hi = parse_range(value)
        except (ValueError, OverflowError):  # not a date, or one at the very end of the calendar
            return []
        return [(_iso(lo), _iso(hi))]
    if not isinstance(value, dict):
        return []
    if "start" in value or "end" in value:
        lo = _ranges(value.get("start")) if value.get("start") else [(LOW, LOW)]
        hi = _ranges(value.get("end")) if value.get("end") else [(HIGH, HIGH)]
        if not lo or not hi:
            return []
        start, end = lo[0][0], hi[0][1]
        bounded = start not in (LOW, HIGH) and end not in (LOW, HIGH)
        if bounded and datetime.fromisoformat(end) <= datetime.fromisoformat(start):
            return [lo[0]]  # a Period that ends before it starts: its start only
        return [(start, end)]
    out: list[tuple[str, str]] = []
    for event in value.get("event") or ():
        out.extend(_ranges(event))
    bounds = (value.get("repeat") or {}).get("boundsPeriod")
    if bounds:
        out.extend(_ranges(bounds))
    return out


def extract(node: Node) -> list[tuple]:
    return [("", pair) for pair in _ranges(node.value)]


def split_prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2].isalpha():
        if value[:2] not in PREFIXES:
            raise ValueError(_("unknown prefix %(prefix)r") % {"prefix": value[:2]})
        return value[:2], value[2:]
    return "eq", value


def condition(value: str, modifier: str, col) -> tuple[str, list]:
    prefix, text = split_prefix(value)
    lo, hi = parse_range(text)
    c_lo, c_hi = col("lo"), col("hi")
    if prefix == "eq":
        return f"({c_lo} >= %s AND {c_hi} <= %s)", [lo, hi]
    if prefix == "ne":
        return f"NOT ({c_lo} >= %s AND {c_hi} <= %s)", [lo, hi]
    if prefix == "gt":
        return f"{c_hi} > %s", [hi]
    if prefix == "lt":
        return f"{c_lo} < %s", [lo]
    if prefix == "ge":
        return f"({c_hi} > %s OR ({c_lo} >= %s AND {c_hi} <= %s))", [hi, lo, hi]
    if prefix == "le":
        return f"({c_lo} < %s OR ({c_lo} >= %s AND {c_hi} <= %s))", [lo, lo, hi]
    if prefix == "sa":
        return f"{c_lo} >= %s", [hi]
    if prefix == "eb":
        return f"{c_hi} <= %s", [lo]
    # ap: the ranges overlap once the search range is widened by 10% of its distance from now.
    now = datetime.now(tz=UTC)
    margin = max(abs(now - lo), abs(now - hi)) * 0.1
    return f"({c_lo} < %s AND {c_hi} > %s)", [hi + margin, lo - margin]


def window(value: str) -> tuple[datetime | None, datetime | None] | None:
    """A range every match of ``value`` overlaps (``None``: unbounded side; ``None`` overall for ``ne``).

    Redundant with ``condition`` but indexable: a GiST index on ``(param, tstzrange(lo, hi))`` finds the
    rows of ``date=ge2024-01-01&date=lt2024-02-01`` without scanning everything before February.
    """
    prefix, text = split_prefix(value)
    lo, hi = parse_range(text)
    if prefix == "eq":
        return lo, hi
    if prefix in ("gt", "sa"):
        return hi, None
    if prefix == "ge":
        return lo, None
    if prefix in ("lt", "eb"):
        return None, lo
    if prefix == "le":
        return None, hi
    return None


def sort_key(col) -> tuple[str, str]:
    # An open Period end is ``infinity``, which Python cannot hold: clamp to the calendar (order kept).
    def clamp(sql: str) -> str:
        return f"GREATEST(LEAST({sql}, '9999-12-31 00:00:00+00'::timestamptz), '0001-01-02 00:00:00+00'::timestamptz)"

    return clamp(f"min({col('lo')})"), clamp(f"max({col('hi')})")
