"""A compiler for the FHIRPath subset the R4 SearchParameter definitions use.

Search values are extracted on every write, so each definition's expression is compiled once into
a list of steps that walk the resource's JSON directly (tests check the results against
``fhirpathpy``). The subset: paths (``Patient.name.given``), choice types (``value.as(Quantity)``,
``(value as Quantity)``), ``where(resolve() is Patient)``, ``where(system='phone')`` and the one
boolean test the spec uses (``Patient.deceased.exists() and Patient.deceased != false``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_AS_PAREN = re.compile(r"^\((?P<path>[^()]+) as (?P<type>\w+)\)(?P<rest>(\.\w+)*)$")
_STEP = re.compile(r"(\w+)(\((?:[^()]|\(\))*\))?")
_WHERE_RESOLVE = re.compile(r"^resolve\(\) is (\w+)$")
_WHERE_EQ = re.compile(r"^(\w+)\s*=\s*'([^']*)'$")
_DECEASED = re.compile(r"^(\w+)\.(\w+)\.exists\(\) and \1\.\2 != false$")


class UnsupportedExpression(ValueError):
    pass


class Node:
    """A value found by a path, with the FHIR type its choice-element name gave it (``valueQuantity``).

    A plain slotted class: extraction makes hundreds of thousands of these per second.
    """

    __slots__ = ("value", "choice")

    def __init__(self, value: object, choice: str | None = None):
        self.value = value
        self.choice = choice

    def __repr__(self) -> str:
        return f"Node({self.value!r}, {self.choice!r})"


def split_union(expression: str) -> list[str]:
    """Split on the top-level ``|`` operators."""
    parts, depth, current = [], 0, []
    for char in expression:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "|" and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _model() -> dict:
    from fhirpathpy.models import models

    return models["r4"]


def _typed(root: str, steps: list[tuple]) -> list[tuple]:
    """Resolve choice elements with the R4 model: ``value`` + ``as(Quantity)`` reads ``valueQuantity``."""
    model = _model()
    choices, path_types, elsewhere = model["choiceTypePaths"], model["path2Type"], model["pathsDefinedElsewhere"]
    typed: list[tuple] = []
    context = root
    index = 0
    while index < len(steps):
        step = steps[index]
        following = steps[index + 1] if index + 1 < len(steps) else None
        if step[0] != "field":
            typed.append(step)
            index += 1
            continue
        path = f"{context}.{step[1]}" if context else ""
        if following and following[0] == "as":
            wanted = following[1]
            known = choices.get(path) or []
            name = next((kind for kind in known if kind.lower() == wanted.lower()), wanted[:1].upper() + wanted[1:])
            typed.append(("choice", step[1], (name,)))
            context = path_types.get(f"{path}{name}", name) if context else ""
            index += 2
            continue
        if path in choices:
            typed.append(("choice", step[1], tuple(choices[path])))
            context = ""
        else:
            typed.append(step)
            kind = path_types.get(path) if context else None
            if kind and kind[:1].isupper() and kind not in ("BackboneElement", "Element"):
                context = kind
            elif context:
                context = elsewhere.get(path, path)
        index += 1
    return typed


def _steps(path: str) -> list[tuple]:
    steps: list[tuple] = []
    position = 0
    while position < len(path):
        match = _STEP.match(path, position)
        if not match:
            raise UnsupportedExpression(path)
        name, args = match.group(1), match.group(2)
        if args is None:
            steps.append(("field", name))
        else:
            inner = args[1:-1].strip()
            if name in ("as", "ofType"):
                steps.append(("as", inner))
            elif name == "where" and (found := _WHERE_RESOLVE.match(inner)):
                steps.append(("resolve_is", found.group(1)))
            elif name == "where" and (found := _WHERE_EQ.match(inner)):
                steps.append(("where_eq", found.group(1), found.group(2)))
            else:
                raise UnsupportedExpression(path)
        position = match.end()
        if position < len(path):
            if path[position] != ".":
                raise UnsupportedExpression(path)
            position += 1
    return steps


@dataclass(frozen=True)
class Path:
    """One compiled alternative of an expression: a root type and the steps below it."""

    root: str
    steps: tuple
    deceased: bool = False


def compile_expression(expression: str, *, relative: bool = False) -> list[Path]:
    """Compile ``expression``; with ``relative`` (composite components) paths start at the context node."""
    paths = []
    for part in split_union(expression):
        if found := _DECEASED.match(part):
            root = found.group(1)
            paths.append(Path(root, tuple(_typed(root, [("field", found.group(2))])), deceased=True))
            continue
        if found := _AS_PAREN.match(part):
            rest = found.group("rest").lstrip(".")
            part = f"{found.group('path')}.as({found.group('type')})" + (f".{rest}" if rest else "")
        steps = _steps(part)
        if relative:
            paths.append(Path("", tuple(_typed("", steps))))
        else:
            if steps[0][0] != "field":
                raise UnsupportedExpression(part)
            root = steps[0][1]
            paths.append(
                Path(root, tuple(_typed(root if root not in ("Resource", "DomainResource") else "", steps[1:])))
            )
    return paths


def _field(nodes: list[Node], name: str) -> list[Node]:
    out: list[Node] = []
    for node in nodes:
        value = node.value
        if not isinstance(value, dict):
            continue
        found = value.get(name)
        if found is None:
            continue
        if isinstance(found, list):
            out.extend(Node(item) for item in found if item is not None)
        else:
            out.append(Node(found))
    return out


def _choice(nodes: list[Node], name: str, kinds: tuple[str, ...]) -> list[Node]:
    out: list[Node] = []
    for node in nodes:
        value = node.value
        if not isinstance(value, dict):
            continue
        for kind in kinds:
            found = value.get(name + kind)
            if found is None:
                continue
            if isinstance(found, list):
                out.extend(Node(item, kind) for item in found if item is not None)
            else:
                out.append(Node(found, kind))
    return out


def _children(value: object, name: str) -> Iterable[Node]:
    """Children named ``name`` when the model does not say whether it is a choice element."""
    if not isinstance(value, dict):
        return
    found = value.get(name)
    if found is not None:
        if isinstance(found, list):
            yield from (Node(item) for item in found if item is not None)
        else:
            yield Node(found)
        return
    # A choice element ``value[x]`` appears as ``valueQuantity``, ``valueString``...
    for key, found in value.items():
        if len(key) > len(name) and key.startswith(name) and key[len(name)].isupper():
            choice = key[len(name) :]
            if isinstance(found, list):
                yield from (Node(item, choice) for item in found)
            else:
                yield Node(found, choice)


def reference_type(reference: object) -> str | None:
    if not isinstance(reference, dict):
        return None
    literal = reference.get("reference") or ""
    parts = literal.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return parts[-2]
    return reference.get("type")


def first_keys(paths: list[Path]) -> frozenset[str] | None:
    """The top-level keys without which ``paths`` select nothing (``None``: evaluate always)."""
    keys: set[str] = set()
    for path in paths:
        if not path.steps or path.deceased:
            return None
        step = path.steps[0]
        if step[0] == "field":
            keys.add(step[1])
        elif step[0] == "choice":
            keys.update(step[1] + kind for kind in step[2])
        else:
            return None
    return frozenset(keys)


def evaluate(paths: list[Path], resource: object) -> list[Node]:
    """The nodes ``paths`` select in ``resource`` (a resource, or a context node for relative paths)."""
    out: list[Node] = []
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    for path in paths:
        if path.root and path.root not in (resource_type, "Resource", "DomainResource"):
            continue
        nodes = [Node(resource)]
        for step in path.steps:
            kind = step[0]
            if kind == "field":
                nodes = _field(nodes, step[1])
            elif kind == "choice":
                nodes = _choice(nodes, step[1], step[2])
            elif kind == "scan":
                nodes = [child for node in nodes for child in _children(node.value, step[1])]
            elif kind == "as":
                nodes = [node for node in nodes if (node.choice or "").lower() == step[1].lower()]
            elif kind == "resolve_is":
                nodes = [node for node in nodes if reference_type(node.value) == step[1]]
            else:  # where_eq
                nodes = [node for node in nodes if isinstance(node.value, dict) and node.value.get(step[1]) == step[2]]
            if not nodes:
                break
        if path.deceased:
            nodes = [Node(bool(nodes) and any(node.value is not False for node in nodes))]
        out.extend(nodes)
    return out
