"""JSON Patch (RFC 6902) for the FHIR patch interaction (http://hl7.org/fhir/R4/http.html#patch); FHIRPath Patch
in ``fhirpath_patch``."""

from __future__ import annotations

import copy

import orjson
from django.utils.translation import gettext as _

from fhir_gateway.errors import FhirError
from fhir_gateway.fhirpath_patch import fhirpath_patch_apply, is_fhirpath_patch


def _fail(message: str, index: int) -> FhirError:
    return FhirError(
        422, _("JSON Patch operation %(index)s: %(message)s") % {"index": index, "message": message}, code="processing"
    )


def _pointer(path: object, index: int) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise _fail(_("'path' must be a JSON pointer"), index)
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]] if path else []


def _parent(document: object, parts: list[str], index: int) -> tuple[object, str]:
    if not parts:
        raise _fail(_("the whole resource cannot be replaced"), index)
    node = document
    for part in parts[:-1]:
        node = _child(node, part, index)
    return node, parts[-1]


def _child(node: object, part: str, index: int) -> object:
    try:
        if isinstance(node, list):
            return node[int(part)]
        if isinstance(node, dict):
            return node[part]
    except (ValueError, IndexError, KeyError):
        pass
    raise _fail(_("no element at %(part)r") % {"part": part}, index)


def _list_index(node: list, part: str, index: int, *, allow_end: bool) -> int:
    if part == "-" and allow_end:
        return len(node)
    if not part.isdigit() or int(part) > len(node) - (0 if allow_end else 1):
        raise _fail(_("bad array index %(part)r") % {"part": part}, index)
    return int(part)


def _remove(document: object, parts: list[str], index: int) -> object:
    parent, last = _parent(document, parts, index)
    if isinstance(parent, list):
        return parent.pop(_list_index(parent, last, index, allow_end=False))
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    raise _fail(_("nothing to remove at %(part)r") % {"part": last}, index)


def _add(document: object, parts: list[str], value: object, index: int, *, replace: bool = False) -> None:
    parent, last = _parent(document, parts, index)
    if isinstance(parent, list):
        position = _list_index(parent, last, index, allow_end=not replace)
        if replace:
            parent[position] = value
        else:
            parent.insert(position, value)
    elif isinstance(parent, dict):
        if replace and last not in parent:
            raise _fail(_("nothing to replace at %(part)r") % {"part": last}, index)
        parent[last] = value
    else:
        raise _fail(_("the target's parent is not an object or array"), index)


MAX_OPERATIONS = 10_000


def _too_big() -> FhirError:
    return FhirError(422, _("The patched resource would be too large"), code="too-costly")


def patch_apply(document: dict, operations: object, growth: int | None = None) -> dict:
    """A patched copy of ``document``; a failed operation raises 422 and changes nothing.

    ``growth``: how many bytes of JSON the operations may add (``copy`` duplicates parts of the document, so
    a few operations could otherwise double it until the worker runs out of memory); None: no bound.
    """
    if not isinstance(operations, list):
        raise FhirError(400, _("A JSON Patch body must be an array of operations"), code="structure")
    if len(operations) > MAX_OPERATIONS:
        raise FhirError(
            422, _("A JSON Patch may have at most %(n)s operations") % {"n": MAX_OPERATIONS}, code="too-costly"
        )
    budget = growth
    result = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or "op" not in operation:
            raise _fail(_("each operation must be an object with 'op'"), index)
        op, parts = operation["op"], _pointer(operation.get("path"), index)
        if op in ("add", "replace", "test") and "value" not in operation:
            raise _fail(_("'value' is required"), index)
        if op == "add":
            _add(result, parts, copy.deepcopy(operation["value"]), index)
        elif op == "replace":
            _add(result, parts, copy.deepcopy(operation["value"]), index, replace=True)
        elif op == "remove":
            _remove(result, parts, index)
        elif op in ("move", "copy"):
            source = _pointer(operation.get("from"), index)
            if op == "move":
                value = _remove(result, source, index)
            else:
                found = _get(result, source, index)
                if budget is not None:
                    budget -= len(orjson.dumps(found))
                    if budget < 0:
                        raise _too_big()
                value = copy.deepcopy(found)
            _add(result, parts, value, index)
        elif op == "test":
            if _get(result, parts, index) != operation["value"]:
                raise _fail(_("test failed"), index)
        else:
            raise _fail(_("unknown op %(op)r") % {"op": op}, index)
    if not isinstance(result, dict):
        raise _fail(_("the result is not a resource"), len(operations))
    return result


def _get(document: object, parts: list[str], index: int) -> object:
    node = document
    for part in parts:
        node = _child(node, part, index)
    return node


def merge_patch_apply(document: dict, patch: dict) -> dict:
    """JSON Merge Patch (RFC 7386): objects merge, ``null`` removes, anything else replaces."""

    def merge(target: object, change: object) -> object:
        if not isinstance(change, dict):
            return copy.deepcopy(change)
        result = dict(target) if isinstance(target, dict) else {}
        for key, value in change.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = merge(result.get(key), value)
        return result

    return merge(document, patch)


def any_patch_apply(document: dict, patch: object, growth: int | None = None) -> dict:
    """A JSON Patch (an array), a FHIRPath Patch (a Parameters resource) or a JSON Merge Patch (an object);
    ``growth`` as in ``patch_apply`` (a merge or FHIRPath patch adds only what its body holds, which the
    request's size limit bounds)."""
    if is_fhirpath_patch(patch):
        return fhirpath_patch_apply(document, patch)
    if isinstance(patch, dict):
        return merge_patch_apply(document, patch)
    return patch_apply(document, patch, growth)
