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


def _entries(bundle: dict) -> list[dict]:
    entries = bundle.get("entry")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _entries_have(element: str, types: tuple[str, ...]):
    """bdl-3 and bdl-4: entry.all(<element>.exists() = (%resource.type = <one of types>))."""

    def holds(node: dict, env: dict) -> bool:
        entries = _entries(node)
        bundle_type = (env.get("resource") or node).get("type")
        if not isinstance(bundle_type, str):
            return not entries  # the comparison is empty, so all() is false unless there is no entry
        wanted = bundle_type in types
        return all((element in entry) == wanted for entry in entries)

    return holds


def _bdl_7(node: dict, env: dict) -> bool:
    # (type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()
    if node.get("type") == "history" or not isinstance(node.get("type"), str):
        return True  # history, or an empty comparison: the or is true or empty
    keys = []
    for entry in _entries(node):
        full_url = entry.get("fullUrl")
        if not isinstance(full_url, str):
            continue
        resource = entry.get("resource")
        meta = resource.get("meta") if isinstance(resource, dict) else None
        version = meta.get("versionId") if isinstance(meta, dict) else None
        keys.append(full_url + (version if isinstance(version, str) else ""))
    return len(set(keys)) == len(keys)


def _bdl_5(node: dict, env: dict) -> bool:
    # resource.exists() or request.exists() or response.exists()
    return "resource" in node or "request" in node or "response" in node


def _bdl_8(node: dict, env: dict) -> bool:
    # fullUrl.contains('/_history/').not()
    full_url = node.get("fullUrl")
    return not isinstance(full_url, str) or "/_history/" not in full_url


HAND_COMPILED = {
    "per-1": (_per_1, frozenset({"start", "end"})),
    "ref-1": (_ref_1, frozenset({"reference"})),
    "qty-3": (_qty_3, frozenset({"code"})),
    "cpt-2": (_cpt_2, frozenset({"value"})),
    "att-1": (_att_1, frozenset({"data"})),
    # Bundle rules met by every transaction and batch: their FHIRPath walks each entry several times over.
    "bdl-3": (_entries_have("request", ("batch", "transaction", "history")), frozenset({"entry"})),
    "bdl-4": (_entries_have("response", ("batch-response", "transaction-response", "history")), frozenset({"entry"})),
    "bdl-5": (_bdl_5, None),
    "bdl-7": (_bdl_7, frozenset({"type"})),
    "bdl-8": (_bdl_8, frozenset({"fullUrl"})),
}
