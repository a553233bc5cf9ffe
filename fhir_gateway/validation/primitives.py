"""Primitive values in JSON (http://hl7.org/fhir/R4/datatypes.html#primitive, http://hl7.org/fhir/R4/json.html#primitive).

Each check returns None for a valid value, else why not: ``(message id, parameters)``. The regular
expressions are the specification's (from the tables), matched whole and with ASCII classes as in the
specification's Java-style expressions (so ``\\s`` is ASCII whitespace: a no-break space is allowed text).
On top of them: real calendar dates (no 30 February), 32-bit integers, strings of at most 1 MB, ``urn:oid:``
and ``urn:uuid:`` URIs in their forms, ``markdown`` without HTML tags, ``base64Binary`` decoding.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

MAX_STRING = 1024 * 1024
INT32 = (-(2**31), 2**31 - 1)
_OID = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")
_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_WHITESPACE = re.compile(r"\s+")
# An HTML tag or comment in markdown (GFM autolinks such as <https://...> are not tags).
_HTML_TAG = re.compile(r"<(/?[A-Za-z][A-Za-z0-9\-]*)(\s[^<>]*)?/?>|<!--")

Problem = tuple[str, dict] | None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _bad(type_name: str, value: object) -> tuple[str, dict]:
    return ("primitive", {"value": _shown(value), "type": type_name})


def _calendar(value: str) -> bool:
    """Whether a date's year-month-day part (when it has one) is a real day."""
    if len(value) < 10:
        return True
    try:
        date(int(value[:4]), int(value[5:7]), int(value[8:10]))
    except ValueError:
        return False
    return True


def build_checks(regexes: dict[str, str | None]) -> dict[str, Callable[[object], Problem]]:
    """A check per primitive type, from the specification's regular expressions."""
    compiled = {name: re.compile(rx, re.ASCII) for name, rx in regexes.items() if rx}

    def text_check(type_name: str, *, calendar: bool = False, extra: Callable[[str], Problem] | None = None):
        pattern = compiled[type_name].fullmatch

        def slow(value: object) -> Problem:
            if not isinstance(value, str) or not value:  # str subclasses too (the hub's enums)
                return _bad(type_name, value)
            if len(value) > MAX_STRING:
                return ("string-too-long", {})
            if pattern(value) is None or (calendar and not _calendar(value)):
                return _bad(type_name, value)
            return extra(value) if extra else None

        if calendar or extra:
            return slow

        def check(value: object) -> Problem:
            # The usual case in one expression; anything else takes the slow path to say why.
            if type(value) is str and value and len(value) <= MAX_STRING and pattern(value) is not None:
                return None
            return slow(value)

        return check

    def uri_forms(type_name: str):
        def extra(value: str) -> Problem:
            if value.startswith("urn:oid:") and not _OID.fullmatch(value):
                return _bad(type_name, value)
            if value.startswith("urn:uuid:") and not _UUID.fullmatch(value):
                return _bad(type_name, value)
            return None

        return extra

    def markdown_html(value: str) -> Problem:
        if "<" in value:
            found = _HTML_TAG.search(value)
            if found:
                return ("markdown-html", {"tag": _shown(found.group(0))})
        return None

    def integer(type_name: str, low: int, high: int):
        def check(value: object) -> Problem:
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                return _bad(type_name, value)
            return None

        return check

    def boolean(value: object) -> Problem:
        return None if value is True or value is False else _bad("boolean", value)

    def decimal(value: object) -> Problem:
        kind = type(value)
        if kind is int or (kind is float and value == value and value not in (float("inf"), float("-inf"))):
            return None
        return _bad("decimal", value)

    def base64(value: object) -> Problem:
        if not isinstance(value, str) or not value:
            return _bad("base64Binary", value)
        compact = _WHITESPACE.sub("", value) if not value.isalnum() else value
        if len(compact) % 4 or not _BASE64.fullmatch(compact):
            return _bad("base64Binary", value)
        return None

    checks: dict[str, Callable[[object], Problem]] = {
        "boolean": boolean,
        "decimal": decimal,
        "integer": integer("integer", *INT32),
        "unsignedInt": integer("unsignedInt", 0, INT32[1]),
        "positiveInt": integer("positiveInt", 1, INT32[1]),
        "base64Binary": base64,
        "markdown": text_check("markdown", extra=markdown_html),
        "date": text_check("date", calendar=True),
        "dateTime": text_check("dateTime", calendar=True),
        "instant": text_check("instant", calendar=True),
    }
    for name in ("uri", "url", "canonical"):
        checks[name] = text_check(name, extra=uri_forms(name))
    for name in ("string", "code", "id", "oid", "uuid", "time"):
        checks[name] = text_check(name)
    return checks
