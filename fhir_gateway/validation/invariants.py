"""Invariants compiled by hand: the ones met on nearly every resource, where a closure tree costs too much.

Each entry is ``key: (fn(node, env) -> bool, names)``: ``names`` are the elements it reads (it is skipped
when none is present), or None to always run it. Each says exactly what its FHIRPath says (in the comment);
``tests/fhir_gateway/validation/test_invariants.py`` checks them against the compiled expressions.
``ele-1``, ``ext-1`` and ``dom-2``..``dom-6`` are checked in the walk itself (``checker``).
"""

from __future__ import annotations

from fhir_gateway.validation.fhirpath import _compare_dates


def _per_1(node: dict, env: dict) -> bool:
    # start.hasValue().not() or end.hasValue().not() or (start <= end)
    start, end = node.get("start"), node.get("end")
    if type(start) is not str or type(end) is not str:
        return True
    if len(start) == len(end) and start[-6:] == end[-6:] and ("T" in start) == ("T" in end):
        return start <= end  # the same precision and zone: the text orders as the time does
    order = _compare_dates(start, end)
    return order is None or order <= 0


def _ref_1(node: dict, env: dict) -> bool:
    # reference.startsWith('#').not() or (reference.substring(1) in %rootResource.contained.id)
    reference = node.get("reference")
    if type(reference) is not str or not reference.startswith("#"):
        return True
    return ref_1_holds(reference, env.get("rootResource") or {})


def ref_1_holds(reference: str, root: dict) -> bool:
    """ref-1 for a local reference (``#id``); the checker calls it from its Reference step."""
    if reference == "#":
        return True  # '#' alone: substring(1) is empty, so the membership is empty too
    contained = root.get("contained")
    target = reference[1:]
    return isinstance(contained, list) and any(isinstance(c, dict) and c.get("id") == target for c in contained)


def _qty_3(node: dict, env: dict) -> bool:
    # code.empty() or system.exists()
    return ("code" not in node and "_code" not in node) or "system" in node or "_system" in node


def _cpt_2(node: dict, env: dict) -> bool:
    # value.empty() or system.exists()
    return ("value" not in node and "_value" not in node) or "system" in node or "_system" in node


def _att_1(node: dict, env: dict) -> bool:
    # data.empty() or contentType.exists()
    return ("data" not in node and "_data" not in node) or "contentType" in node or "_contentType" in node


HAND_COMPILED = {
    "per-1": (_per_1, frozenset({"start", "end"})),
    "ref-1": (_ref_1, frozenset({"reference"})),
    "qty-3": (_qty_3, frozenset({"code"})),
    "cpt-2": (_cpt_2, frozenset({"value"})),
    "att-1": (_att_1, frozenset({"data"})),
}
