"""Composite parameters: ``code$value`` pairs such as Observation ``code-value-quantity``.

http://hl7.org/fhir/R4/search.html#composite. Every R4 composite of the hub's types pairs a token
with a quantity, token, date, string or reference; each pair found under one context node is one
row, so ``$`` matches both halves in the same component.
"""

from __future__ import annotations

from itertools import product

from django.utils.translation import gettext as _

from fhir_gateway.search import fhirpath
from fhir_gateway.search.fhirpath import Node

TABLE = "fhir_search_composite"
COLUMNS = (
    "c1_system",
    "c1_code",
    "c2_system",
    "c2_code",
    "c2_num",
    "c2_lo",
    "c2_hi",
    "c2_text",
    "c2_canon_num",
    "c2_canon_unit",
)
MODIFIERS = {"", "missing"}
# Where each second-component type keeps its values.
SECOND = {
    "token": {"system": "c2_system", "code": "c2_code", "text": "c2_text"},
    "quantity": {
        "value": "c2_num",
        "system": "c2_system",
        "code": "c2_code",
        "unit": "c2_text",
        "canon_value": "c2_canon_num",
        "canon_unit": "c2_canon_unit",
    },
    "number": {"value": "c2_num"},
    "date": {"lo": "c2_lo", "hi": "c2_hi"},
    "string": {"norm": "c2_text", "exact": "c2_code"},
    "reference": {"target_type": "c2_system", "target_id": "c2_code", "url": "c2_text"},
    "uri": {"value": "c2_code"},
}


def _kind(name: str):
    from fhir_gateway.search.values import KINDS

    return KINDS[name]


def extract_pairs(param, node: Node) -> list[tuple]:
    """The rows for one context node of composite ``param`` (the second value first: it is the rarer)."""
    first, second = param.components[0], param.components[1]
    kind = _kind(second.type)
    mapping = SECOND[second.type]
    seconds = []
    for child in fhirpath.evaluate(second.paths, node.value):
        for suffix, values in kind.extract(child):
            if suffix:
                continue
            row = dict.fromkeys(COLUMNS[2:])
            for column, value in zip(kind.COLUMNS, values, strict=True):
                row[mapping[column]] = value
            seconds.append(tuple(row.values()))
    if not seconds:
        return []
    firsts = [
        values[:2]
        for child in fhirpath.evaluate(first.paths, node.value)
        for suffix, values in _kind(first.type).extract(child)
        if not suffix and values[1] is not None
    ]
    return [("", (*one, *two)) for one, two in product(firsts, seconds)]


def condition_for(param, value: str, col, base_url: str = "") -> tuple[str, list]:
    parts = value.split("$")
    if len(parts) != len(param.components):
        raise ValueError(_("expected %(count)s parts separated by $") % {"count": len(param.components)})
    first, second = param.components[0], param.components[1]
    names = {"system": "c1_system", "code": "c1_code", "text": "c1_code"}
    sql1, args1 = _kind(first.type).condition(parts[0], "", lambda name: col(names[name]))
    mapping = SECOND[second.type]
    kind = _kind(second.type)
    if second.type == "reference":
        sql2, args2 = kind.condition(parts[1], "", lambda name: col(mapping[name]), base_url)
    else:
        sql2, args2 = kind.condition(parts[1], "", lambda name: col(mapping[name]))
    return f"({sql1} AND {sql2})", args1 + args2


def extract(node: Node) -> list[tuple]:  # composites are extracted with their param: extract_pairs
    return []


def condition(value: str, modifier: str, col) -> tuple[str, list]:
    raise NotImplementedError("use condition_for")
