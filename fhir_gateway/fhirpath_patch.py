"""FHIRPath Patch: a ``Parameters`` resource of operations (http://hl7.org/fhir/R4/fhirpatch.html).

Each ``operation`` has a ``type`` (add, insert, delete, replace, move), a ``path`` (FHIRPath) and, by type,
``name``, ``value`` (``value[x]``, or ``part``s for a complex value), ``index``, ``source``,
``destination``. Paths are FHIRPath navigation: element names, indexers, ``where(...)`` (any criteria the
validator's FHIRPath compiler evaluates), ``first()``, ``last()``, ``ofType(T)``; anything else is refused
(422). The result is validated like any write; a failed operation changes nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.utils.translation import gettext as _

from fhir_gateway.errors import FhirError
from fhir_gateway.validation import fhirpath
from fhir_gateway.validation.definitions import COMPLEX, RESOURCE, TypeDef, definitions


def _fail(index: int, text: str) -> FhirError:
    return FhirError(
        422,
        _("FHIRPath Patch operation %(index)s: %(message)s") % {"index": index, "message": text},
        code="processing",
        expression=[f"Parameters.parameter[{index}]"],
    )


@dataclass
class _Location:
    """Where a value sits: ``container[key]`` (``[index]`` in a list), with the container's type."""

    container: dict | None
    key: str | None
    index: int | None
    value: object
    tdef: TypeDef | None


def _type_of(tdef: TypeDef | None, key: str, value: object) -> TypeDef | None:
    types = definitions().types
    element = tdef.elements.get(key) if tdef is not None else None
    if element is None:
        return None
    if element.kind == COMPLEX:
        return types.get(element.type)
    if element.kind == RESOURCE and isinstance(value, dict):
        return types.get(str(value.get("resourceType")))
    return None


def _children(location: _Location, name: str) -> list[_Location]:
    node = location.value
    if not isinstance(node, dict):
        return []
    key = name
    if name not in node and location.tdef is not None and name in location.tdef.choices:
        key = next((k for k in node if k.startswith(name) and k[len(name) :][:1].isupper()), name)
    value = node.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return [_Location(node, key, i, v, _type_of(location.tdef, key, v)) for i, v in enumerate(value)]
    return [_Location(node, key, None, value, _type_of(location.tdef, key, value))]


class _Locator:
    def __init__(self, root: dict):
        self.root = root
        self.bases = definitions().choice_bases

    def locate(self, node: list) -> list[_Location]:  # noqa: C901 - one branch per supported node
        kind = node[0]
        if kind == "this":
            tdef = definitions().types.get(str(self.root.get("resourceType")))
            return [_Location(None, None, None, self.root, tdef)]
        if kind == "member":
            if node[1] == ["this"] and node[2][:1].isupper():
                return self.locate(["this"]) if self.root.get("resourceType") == node[2] else []
            return [child for parent in self.locate(node[1]) for child in _children(parent, node[2])]
        if kind == "index" and node[2][0] == "lit" and isinstance(node[2][1], int):
            found = self.locate(node[1])
            return found[node[2][1] : node[2][1] + 1]
        if kind == "as" and node[1][0] == "member":
            variant = node[1][2] + node[2][:1].upper() + node[2][1:]
            return self.locate(["member", node[1][1], variant])
        if kind == "call" and node[1] in ("first", "last") and not node[3]:
            found = self.locate(node[2])
            return found[:1] if node[1] == "first" else found[-1:]
        if kind == "call" and node[1] == "where" and len(node[3]) == 1:
            criteria = fhirpath.compile_ast(node[3][0], self.bases)
            env = {"resource": self.root, "rootResource": self.root, "context": self.root, "ucum": fhirpath.UCUM}
            return [loc for loc in self.locate(node[2]) if fhirpath.is_true(criteria, loc.value, env)]
        raise fhirpath.Unsupported(f"{node[0]} {node[1] if len(node) > 1 and isinstance(node[1], str) else ''}")


def _parts(operation: dict) -> dict:
    parts = {}
    for part in operation.get("part") or []:
        if isinstance(part, dict) and isinstance(part.get("name"), str):
            parts[part["name"]] = part
    return parts


def _value(part: dict | None, tdef: TypeDef | None, element_name: str | None) -> tuple[object, str | None]:
    """The value of a ``value`` part and its type suffix (``valueQuantity``: Quantity), parts as an object."""
    if part is None:
        return None, None
    for key, value in part.items():
        if key.startswith("value") and len(key) > 5:
            return copy.deepcopy(value), key[5:]
    if isinstance(part.get("part"), list):
        element = tdef.elements.get(element_name) if tdef is not None and element_name else None
        inner = definitions().types.get(element.type) if element is not None else None
        return _object(part["part"], inner), None
    return None, None


def _object(parts: list, tdef: TypeDef | None) -> dict:
    out: dict = {}
    for part in parts:
        if not isinstance(part, dict) or not isinstance(part.get("name"), str):
            continue
        name = part["name"]
        value, _suffix = _value(part, tdef, name)
        element = tdef.elements.get(name) if tdef is not None else None
        if element is not None and element.array:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def _path_tree(parts: dict, index: int) -> list:
    path = (parts.get("path") or {}).get("valueString")
    if not isinstance(path, str) or not path:
        raise _fail(index, _("'path' is required"))
    try:
        return fhirpath.to_ast(path)
    except Exception:  # the parser's own errors
        raise _fail(index, _("the path %(path)r is not FHIRPath") % {"path": path[:200]}) from None


def _integer(parts: dict, name: str, index: int) -> int:
    value = (parts.get(name) or {}).get("valueInteger")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _fail(index, _("'%(name)s' must be a non-negative integer") % {"name": name})
    return value


def _list_of(locator: _Locator, tree: list, index: int) -> tuple[dict, str, list, TypeDef | None]:
    """The list a path names (for insert and move): its container, key, items and the container's type."""
    if tree[0] != "member":
        raise _fail(index, _("the path must end with an element name"))
    parents = locator.locate(tree[1])
    if len(parents) != 1 or not isinstance(parents[0].value, dict):
        raise _fail(index, _("the path must lead to exactly one element"))
    container, key = parents[0].value, tree[2]
    items = container.get(key, [])
    if not isinstance(items, list):
        raise _fail(index, _("%(name)s is not a list") % {"name": key})
    return container, key, items, parents[0].tdef


def _apply(result: dict, operation: dict, index: int) -> None:  # noqa: C901 - one branch per operation type
    parts = _parts(operation)
    kind = (parts.get("type") or {}).get("valueCode")
    tree = _path_tree(parts, index)
    locator = _Locator(result)
    if kind in ("insert", "move"):
        container, key, items, tdef = _list_of(locator, tree, index)
        if kind == "insert":
            position = _integer(parts, "index", index)
            if position > len(items):
                raise _fail(index, _("index %(index)s is beyond the list") % {"index": position})
            value, _suffix = _value(parts.get("value"), tdef, key)
            if value is None:
                raise _fail(index, _("'value' is required"))
            container[key] = [*items[:position], value, *items[position:]]
            return
        source, destination = _integer(parts, "source", index), _integer(parts, "destination", index)
        if source >= len(items) or destination >= len(items):
            raise _fail(index, _("source or destination is beyond the list"))
        moved = list(items)
        moved.insert(destination, moved.pop(source))
        container[key] = moved
        return
    found = locator.locate(tree)
    if kind == "delete":
        if len(found) > 1:
            raise _fail(index, _("the path matches more than one element"))
        for location in found:
            if location.index is None:
                del location.container[location.key]
            else:
                location.container[location.key].pop(location.index)
                if not location.container[location.key]:
                    del location.container[location.key]
        return
    if len(found) != 1:
        raise _fail(index, _("the path must match exactly one element, it matches %(count)s") % {"count": len(found)})
    location = found[0]
    if kind == "replace":
        if location.container is None:
            raise _fail(index, _("the whole resource cannot be replaced"))
        parent_type = _container_type(locator, tree)
        value, _suffix = _value(parts.get("value"), parent_type, location.key)
        if value is None:
            raise _fail(index, _("'value' is required"))
        if location.index is None:
            location.container[location.key] = value
        else:
            location.container[location.key][location.index] = value
        return
    if kind == "add":
        name = (parts.get("name") or {}).get("valueString")
        if not isinstance(name, str) or not name or not isinstance(location.value, dict):
            raise _fail(index, _("'name' is required, and the path must lead to an element that has children"))
        value, suffix = _value(parts.get("value"), location.tdef, name)
        if value is None:
            raise _fail(index, _("'value' is required"))
        tdef = location.tdef
        key = name
        if tdef is not None and name in tdef.choices and suffix:
            key = name + suffix[:1].upper() + suffix[1:]
        element = tdef.elements.get(key) if tdef is not None else None
        node = location.value
        if element is not None and element.array:
            node[key] = [*node.get(key, []), value] if isinstance(node.get(key, []), list) else [value]
        elif key in node:
            raise _fail(index, _("%(name)s already has a value") % {"name": key})
        else:
            node[key] = value
        return
    raise _fail(index, _("type must be add, insert, delete, replace or move"))


def _container_type(locator: _Locator, tree: list) -> TypeDef | None:
    if tree[0] == "member":
        parents = locator.locate(tree[1])
        return parents[0].tdef if len(parents) == 1 else None
    if tree[0] in ("index", "call") and len(tree) > 1:
        inner = tree[1] if tree[0] == "index" else tree[2]
        return _container_type(locator, inner)
    return None


def is_fhirpath_patch(patch: object) -> bool:
    return isinstance(patch, dict) and patch.get("resourceType") == "Parameters"


def fhirpath_patch_apply(document: dict, patch: dict) -> dict:
    """A patched copy of ``document``; a failed operation raises 422 and changes nothing."""
    operations = patch.get("parameter")
    if not isinstance(operations, list) or not operations:
        raise FhirError(400, _("A FHIRPath Patch needs at least one operation parameter"), code="structure")
    result = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or operation.get("name") != "operation":
            raise _fail(index, _("each parameter must be an operation"))
        try:
            _apply(result, operation, index)
        except fhirpath.Unsupported as error:
            raise _fail(index, _("the path uses %(what)s, which a patch does not support") % {"what": error}) from None
        except fhirpath.EvaluationError as error:
            raise _fail(index, str(error)) from None
    return result
