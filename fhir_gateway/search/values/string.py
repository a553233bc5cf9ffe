"""String parameters: case- and accent-insensitive prefix matching, Chinese by characters and pinyin.

http://hl7.org/fhir/R4/search.html#string
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from fhir_gateway.errors import FhirError
from fhir_gateway.search.fhirpath import Node
from fhir_gateway.search.normalize import has_cjk, normalize, pinyin_forms

TABLE = "fhir_search_string"
COLUMNS = ("norm", "exact")
MODIFIERS = {"", "exact", "contains", "missing"}
_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")
LIMIT = 500


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, dict):
        return []
    out: list[str] = []
    keys = _NAME_PARTS if ("family" in value or "given" in value) else _ADDRESS_PARTS
    for key in keys if any(key in value for key in keys) else value:
        part = value.get(key)
        out.extend(item for item in (part if isinstance(part, list) else [part]) if isinstance(item, str))
    if "family" in value or "given" in value:
        family, given = value.get("family") or "", [g for g in value.get("given") or () if isinstance(g, str)]
        if given and family:
            out.append(" ".join([*given, family]))
            if has_cjk(family):
                out.append(family + "".join(given))  # Chinese order: 王小明
    return out


def extract(node: Node) -> list[tuple]:
    rows = []
    for text in _strings(node.value):
        norm = normalize(text)
        if not norm:
            continue
        rows.append(("", (norm[:LIMIT], text[:LIMIT])))
        rows.extend(("", (form[:LIMIT], None)) for form in pinyin_forms(text))
    return rows


def condition(value: str, modifier: str, col) -> tuple[str, list]:
    from fhir_gateway.search.values import like_escape

    if modifier == "exact":
        return f"{col('exact')} = %s", [value]
    norm = normalize(value)
    if not norm:
        raise ValueError(_("empty string"))
    pattern = like_escape(norm)
    if modifier == "contains":
        return f"{col('norm')} LIKE %s", ["%" + pattern + "%"]
    if modifier:
        raise FhirError(
            400,
            _("Modifier :%(modifier)s is not supported on %(kind)s parameters")
            % {"modifier": modifier, "kind": "string"},
            code="not-supported",
        )
    if " " in norm:  # "wang xiaoming" also finds the pinyin form "wangxiaoming"
        return f"({col('norm')} LIKE %s OR {col('norm')} LIKE %s)", [pattern + "%", pattern.replace(" ", "") + "%"]
    return f"{col('norm')} LIKE %s", [pattern + "%"]


def sort_key(col) -> tuple[str, str]:
    flt = f"FILTER (WHERE {col('exact')} IS NOT NULL)"
    return f"min({col('norm')}) {flt}", f"max({col('norm')}) {flt}"
