"""The R4 SearchParameter definitions (``data/search-parameters.json``), compiled per resource type."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from fhir_gateway.search.fhirpath import Path as FhirPath
from fhir_gateway.search.fhirpath import compile_expression

DATA = Path(__file__).with_name("data")
COMMON_BASES = ("Resource", "DomainResource")
# Parameters whose value lives in the resource row itself rather than in an index table.
RESOURCE_COLUMNS = {"_id", "_lastUpdated"}
# Defined by the spec without an expression (``_text`` and ``_content`` are indexed by ``values.content``).
UNSUPPORTED = {"_query"}
# R4 errata: DocumentReference ``relationship`` names its components' definitions the wrong way round
# (``code`` is the relation type, a token; ``target`` the related document, a reference).
COMPONENT_TYPES = {"http://hl7.org/fhir/SearchParameter/DocumentReference-relationship": ("token", "reference")}


@dataclass(frozen=True)
class Component:
    definition: str
    expression: str
    type: str
    paths: tuple[FhirPath, ...]


@dataclass(frozen=True)
class SearchParam:
    """One search parameter of one resource type."""

    code: str
    type: str
    url: str
    description: str
    expression: str | None
    paths: tuple[FhirPath, ...] = ()
    targets: tuple[str, ...] = ()
    modifiers: tuple[str, ...] = ()
    components: tuple[Component, ...] = field(default=())


@cache
def _raw() -> list[dict]:
    return json.loads((DATA / "search-parameters.json").read_text())


@cache
def _by_url() -> dict[str, dict]:
    return {item["url"]: item for item in _raw()}


@cache
def summary_elements() -> dict[str, list[str]]:
    return json.loads((DATA / "summary-elements.json").read_text())


def _param(item: dict, resource_type: str) -> SearchParam:
    expression = item.get("expression")
    paths: tuple[FhirPath, ...] = ()
    if expression:
        roots = {resource_type, *COMMON_BASES}
        paths = tuple(path for path in compile_expression(expression) if path.root in roots)
    components = ()
    if item["type"] == "composite":
        parts = item.get("component", [])
        kinds = COMPONENT_TYPES.get(item["url"]) or [_by_url()[part["definition"]]["type"] for part in parts]
        components = tuple(
            Component(
                definition=part["definition"],
                expression=part["expression"],
                type=kind,
                paths=tuple(compile_expression(part["expression"], relative=True)),
            )
            for part, kind in zip(parts, kinds, strict=True)
        )
    return SearchParam(
        code=item["code"],
        type=item["type"],
        url=item["url"],
        description=item.get("description", ""),
        expression=expression,
        paths=paths,
        targets=tuple(item.get("target", ())),
        modifiers=tuple(item.get("modifier", ())),
        components=components,
    )


@cache
def params_for(resource_type: str) -> dict[str, SearchParam]:
    """Every parameter of ``resource_type`` (its own and the common ones), by code."""
    out: dict[str, SearchParam] = {}
    for item in _raw():
        bases = item["base"]
        if resource_type in bases or any(base in bases for base in COMMON_BASES):
            if item["code"] in UNSUPPORTED:
                continue
            out[item["code"]] = _param(item, resource_type)
    return out


@cache
def common_params() -> dict[str, SearchParam]:
    """The parameters every type has (``_id``, ``_lastUpdated``, ``_tag``...): system-level search."""
    return {
        item["code"]: _param(item, "Resource")
        for item in _raw()
        if set(item["base"]) & set(COMMON_BASES) and item["code"] not in UNSUPPORTED
    }


@cache
def defined_types() -> tuple[str, ...]:
    """The resource types with parameters of their own in the definitions."""
    return tuple(sorted({base for item in _raw() for base in item["base"]} - set(COMMON_BASES)))
