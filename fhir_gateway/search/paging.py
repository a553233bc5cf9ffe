"""``_sort`` keys and keyset paging (http://hl7.org/fhir/R4/search.html#sort, #count).

Pages are cut by the sort keys of the last (or first) row shown, never by an offset, so ``next`` and
``previous`` links stay correct while resources are added or removed: a row is neither skipped nor
repeated unless its own sort key changes. The resource's primary key ends every ordering.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from fhir_gateway.errors import FhirError
from fhir_gateway.search.criteria import lookup
from fhir_gateway.search.values import KINDS

_CASTS = {"token": "text", "string": "text", "reference": "text", "uri": "text", "date": "timestamptz"}


@dataclass(frozen=True)
class SortKey:
    expression: str  # SQL on alias ``s`` (a fhir_search_res row)
    args: tuple
    descending: bool
    cast: str


def sort_keys(resource_type: str | None, raw: str | None, strict: bool) -> list[SortKey]:
    keys: list[SortKey] = []
    for item in (raw or "").split(","):
        item = item.strip()
        if not item:
            continue
        descending = item.startswith("-")
        code = item.lstrip("-")
        if code == "_id":
            keys.append(SortKey("s.fhir_id", (), descending, "text"))
            continue
        if code == "_lastUpdated":
            keys.append(SortKey("s.last_updated", (), descending, "timestamptz"))
            continue
        param = lookup(resource_type, code)
        if ":" in code or param is None or param.type in ("composite", "special") or code in ("_content", "_text"):
            if strict or param is not None or ":" in code:
                raise FhirError(
                    400, _("Cannot sort by %(code)r") % {"code": code}, code="not-supported", expression=["_sort"]
                )
            continue
        module = KINDS[param.type]
        ascending_sql, descending_sql = module.sort_key(lambda column: f"k.{column}")
        aggregate = descending_sql if descending else ascending_sql
        expression = f"(SELECT {aggregate} FROM {module.TABLE} k WHERE k.resource_id = s.resource_id AND k.param = %s)"
        keys.append(SortKey(expression, (param.code,), descending, _CASTS.get(param.type, "float8")))
    keys.append(SortKey("s.resource_id", (), False, "bigint"))
    return keys


def order_by(keys: list[SortKey], backwards: bool) -> str:
    parts = []
    for index, key in enumerate(keys):
        descending = key.descending != backwards
        nulls = "FIRST" if backwards else "LAST"
        parts.append(f"q.k{index} {'DESC' if descending else 'ASC'} NULLS {nulls}")
    return ", ".join(parts)


def beyond(keys: list[SortKey], values: list, backwards: bool) -> tuple[str, list]:
    """Rows after ``values`` in the order (before them when ``backwards``); nulls sort last."""
    ors, args = [], []
    for index, key in enumerate(keys):
        conjuncts, more = [], []
        for earlier, (prior, value) in enumerate(zip(keys[:index], values[:index], strict=True)):
            if value is None:
                conjuncts.append(f"q.k{earlier} IS NULL")
            else:
                conjuncts.append(f"q.k{earlier} = %s::{prior.cast}")
                more.append(value)
        value = values[index]
        greater = (not key.descending) != backwards
        operator = ">" if greater else "<"
        if not backwards:
            if value is None:
                continue
            conjuncts.append(f"(q.k{index} {operator} %s::{key.cast} OR q.k{index} IS NULL)")
            more.append(value)
        elif value is None:
            conjuncts.append(f"q.k{index} IS NOT NULL")
        else:
            conjuncts.append(f"q.k{index} {operator} %s::{key.cast}")
            more.append(value)
        ors.append("(" + " AND ".join(conjuncts) + ")")
        args += more
    return ("(" + " OR ".join(ors) + ")" if ors else "FALSE"), args


def encode_cursor(values: list, backwards: bool) -> str:
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    raw = json.dumps({"v": plain, "b": backwards}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _valid(value, cast: str) -> bool:
    if value is None:
        return cast != "bigint"
    if cast == "bigint":
        return isinstance(value, int) and not isinstance(value, bool)
    if cast == "float8":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if cast == "timestamptz":
        try:
            datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return False
        return True
    return isinstance(value, str) and "\x00" not in value


def decode_cursor(token: str, keys: list[SortKey]) -> tuple[list, bool]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        values, backwards = data["v"], bool(data["b"])
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError
        if not all(_valid(value, key.cast) for value, key in zip(values, keys, strict=True)):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise FhirError(400, _("Invalid paging cursor"), expression=["_cursor"]) from None
    return values, backwards
