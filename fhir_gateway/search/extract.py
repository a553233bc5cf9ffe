"""Turn one resource into its index rows, with the compiled expressions of its type's parameters."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from functools import cache

from fhir_gateway.search import fhirpath
from fhir_gateway.search.definitions import RESOURCE_COLUMNS, SearchParam, params_for
from fhir_gateway.search.normalize import normalize
from fhir_gateway.search.values import KINDS, composite, string

_TAGS = re.compile(r"<[^>]+>")


@cache
def plan(resource_type: str) -> tuple[tuple[SearchParam, object], ...]:
    """The parameters of ``resource_type`` that have something to extract, with their value module."""
    return tuple(
        (param, KINDS[param.type])
        for param in params_for(resource_type).values()
        if param.paths and param.type in KINDS and param.code not in RESOURCE_COLUMNS
    )


def _narrative(content: dict) -> list[tuple]:
    div = (content.get("text") or {}).get("div")
    if not isinstance(div, str):
        return []
    text = " ".join(html.unescape(_TAGS.sub(" ", div)).split())
    norm = normalize(text)
    return [(norm[: string.LIMIT], text[: string.LIMIT])] if norm else []


def extract_rows(resource_type: str, content: dict) -> dict[str, list[tuple]]:
    """``{table: [(param, *values)]}`` for one resource (duplicates removed)."""
    out: dict[str, dict[tuple, None]] = defaultdict(dict)
    seen_paths: dict[tuple, list] = {}
    for param, kind in plan(resource_type):
        nodes = seen_paths.get(param.paths)
        if nodes is None:
            nodes = seen_paths[param.paths] = fhirpath.evaluate(list(param.paths), content)
        if not nodes:
            continue
        if kind is composite:
            for node in nodes:
                for _, values in composite.extract_pairs(param, node):
                    out[composite.TABLE][(param.code, *values)] = None
            continue
        for node in nodes:
            for suffix, values in kind.extract(node):
                if suffix.startswith("token"):
                    out[KINDS["token"].TABLE][(param.code + suffix[5:], *values)] = None
                else:
                    out[kind.TABLE][(param.code + suffix, *values)] = None
    for values in _narrative(content):
        out[string.TABLE][("_text", *values)] = None
    return {table: list(rows) for table, rows in out.items()}
