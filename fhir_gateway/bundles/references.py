"""Reference rewriting inside a transaction (http://hl7.org/fhir/R4/http.html#trules).

``urn:uuid:`` (and other) fullUrls become the ids the server assigned, and conditional references
(``Patient?identifier=...``) become the one resource they match. The work is done on each resource's
JSON text with two regular expressions (C speed), not by walking its dicts in Python; a resource
with nothing to rewrite is left untouched.
"""

from __future__ import annotations

import re

import orjson

_URN = re.compile(r'"(urn:(?:uuid|oid):[^"\\]+)"')
_REFERENCE = re.compile(r'"reference":"([^"\\]*)"')


def is_conditional(reference: str) -> bool:
    return "?" in reference and not reference.startswith(("http:", "https:", "urn:", "#"))


def conditional_references(text: str) -> set[str]:
    """The conditional references (``Type?criteria``) in a resource's JSON text."""
    if "?" not in text:
        return set()
    return {value for value in _REFERENCE.findall(text) if is_conditional(value)}


def references_rewrite(resource: dict, text: str, mapping: dict[str, str]) -> dict:
    """``resource`` with every reference found in ``mapping`` (fullUrls, conditional references) replaced."""
    if not mapping:
        return resource
    changed = False

    def reference(match: re.Match) -> str:
        nonlocal changed
        target = mapping.get(match.group(1))
        if target is None:
            return match.group(0)
        changed = True
        return f'"reference":"{target}"'

    def urn(match: re.Match) -> str:
        nonlocal changed
        target = mapping.get(match.group(1))
        if target is None:
            return match.group(0)
        changed = True
        return f'"{target}"'

    rewritten = _REFERENCE.sub(reference, text)
    if "urn:" in rewritten:
        rewritten = _URN.sub(urn, rewritten)
    return orjson.loads(rewritten) if changed else resource
