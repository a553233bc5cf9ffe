"""Turn one resource into its index rows, with the compiled expressions of its type's parameters."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from fhir_gateway.search import fhirpath
from fhir_gateway.search.definitions import RESOURCE_COLUMNS, SearchParam, defined_types, params_for
from fhir_gateway.search.values import KINDS, composite
from fhir_gateway.search.values import content as words

TOKEN_TABLE = KINDS["token"].TABLE


@dataclass(frozen=True)
class Group:
    """Parameters sharing one expression (``subject`` and ``patient``...): evaluated once per resource."""

    paths: list
    keys: frozenset[str] | None  # skip the group when the resource has none of these top-level keys
    params: list[tuple[SearchParam, object]]


@cache
def plan(resource_type: str) -> tuple[Group, ...]:
    """The parameters of ``resource_type`` that have something to extract, grouped by expression."""
    groups: dict[tuple, Group] = {}
    for param in params_for(resource_type).values():
        if not param.paths or param.type not in KINDS or param.code in RESOURCE_COLUMNS:
            continue
        group = groups.get(param.paths)
        if group is None:
            paths = list(param.paths)
            group = groups[param.paths] = Group(paths, fhirpath.first_keys(paths), [])
        group.params.append((param, KINDS[param.type]))
    return tuple(groups.values())


def warm_up() -> None:
    """Compile every type's plan now (the server's start-up), not on the first write of each type."""
    for resource_type in defined_types():
        plan(resource_type)


def extract_rows(resource_type: str, content: dict) -> dict[str, list[tuple]]:
    """``{table: [(param, *values)]}`` for one resource (duplicates removed)."""
    out: dict[str, dict[tuple, None]] = defaultdict(dict)
    for group in plan(resource_type):
        if group.keys is not None and group.keys.isdisjoint(content):
            continue
        nodes = fhirpath.evaluate(group.paths, content)
        if not nodes:
            continue
        for param, kind in group.params:
            if kind is composite:
                for node in nodes:
                    for _, values in composite.extract_pairs(param, node):
                        out[composite.TABLE][(param.code, *values)] = None
                continue
            extracted = [row for node in nodes for row in kind.extract(node)]
            for suffix, values in extracted:
                if suffix.startswith("token"):
                    out[TOKEN_TABLE][(param.code + suffix[5:], *values)] = None
                else:
                    out[kind.TABLE][(param.code + suffix, *values)] = None
    rows = {table: list(rows) for table, rows in out.items()}
    rows[words.TABLE] = words.extract_resource(content)
    return rows
