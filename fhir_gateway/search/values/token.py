"""Token parameters: codes, identifiers, booleans (http://hl7.org/fhir/R4/search.html#token)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from fhir_gateway.errors import FhirError
from fhir_gateway.search.fhirpath import Node
from fhir_gateway.search.normalize import normalize

TABLE = "fhir_search_token"
COLUMNS = ("system", "code", "text")
CONTACT_SYSTEMS = {"phone", "fax", "email", "pager", "url", "sms", "other"}
MODIFIERS = {"", "not", "text", "of-type", "missing"}


def _text(value: object) -> str | None:
    return normalize(value)[:500] if isinstance(value, str) and value.strip() else None


def extract(node: Node) -> list[tuple]:
    value = node.value
    if isinstance(value, bool):
        return [("", (None, "true" if value else "false", None))]
    if isinstance(value, str | int | float):
        return [("", (None, str(value), None))]
    if not isinstance(value, dict):
        return []
    rows: list[tuple] = []
    if "coding" in value or (node.choice == "CodeableConcept") or ("text" in value and "value" not in value):
        for coding in value.get("coding") or ():
            if isinstance(coding, dict) and (coding.get("code") or coding.get("system")):
                rows.append(("", (coding.get("system"), coding.get("code"), _text(coding.get("display")))))
        if text := _text(value.get("text")):
            rows.append(("", (None, None, text)))
        return rows
    if "value" in value and not isinstance(value.get("value"), int | float):
        code = str(value["value"])
        if value.get("system") in CONTACT_SYSTEMS or node.choice == "ContactPoint":
            return [("", (None, code, None))]
        kind = value.get("type") if isinstance(value.get("type"), dict) else {}
        rows.append(("", (value.get("system"), code, _text(kind.get("text")))))
        for coding in kind.get("coding") or ():
            if isinstance(coding, dict) and coding.get("code"):
                rows.append((":of-type", (coding.get("system"), f"{coding['code']}|{code}", None)))
        return rows
    if value.get("code") is not None or value.get("system"):
        return [("", (value.get("system"), value.get("code"), _text(value.get("display"))))]
    return rows


def condition(value: str, modifier: str, col) -> tuple[str, list]:
    if modifier == "text":
        text = normalize(value)
        from fhir_gateway.search.values import like_escape

        pattern = like_escape(text)
        return f"({col('text')} LIKE %s OR {col('text')} LIKE %s)", [pattern + "%", "% " + pattern + "%"]
    if modifier == "of-type":
        parts = value.split("|")
        if len(parts) != 3 or not all(parts):
            raise ValueError(_("expected system|code|value"))
        return f"({col('system')} = %s AND {col('code')} = %s)", [parts[0], f"{parts[1]}|{parts[2]}"]
    if modifier not in ("", "not"):
        raise FhirError(
            400,
            _("Modifier :%(modifier)s is not supported on %(kind)s parameters")
            % {"modifier": modifier, "kind": "token"},
            code="not-supported",
        )
    if "|" not in value:
        return f"{col('code')} = %s", [value]
    system, code = value.split("|", 1)
    if not system:
        return f"({col('system')} IS NULL AND {col('code')} = %s)", [code]
    if not code:
        return f"{col('system')} = %s", [system]
    return f"({col('system')} = %s AND {col('code')} = %s)", [system, code]


def sort_key(col) -> tuple[str, str]:
    return f"min({col('code')})", f"max({col('code')})"
