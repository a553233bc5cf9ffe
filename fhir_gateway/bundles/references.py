"""Reference rewriting inside a transaction (http://hl7.org/fhir/R4/http.html#trules).

``urn:uuid:`` (and other) fullUrls become the ids the server assigned, and conditional references
(``Patient?identifier=...``) become the one resource they match.
"""

from __future__ import annotations

from collections.abc import Callable


def references_rewrite(node: object, mapping: dict[str, str], resolve: Callable[[str], str]) -> object:
    """``node`` with every string equal to a fullUrl in ``mapping`` replaced and conditional references resolved."""
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if isinstance(value, str):
                if value in mapping:
                    value = mapping[value]
                elif key == "reference" and "?" in value and not value.startswith(("http:", "https:", "urn:", "#")):
                    value = resolve(value)
                result[key] = value
            elif isinstance(value, dict | list):
                result[key] = references_rewrite(value, mapping, resolve)
            else:
                result[key] = value
        return result
    if isinstance(node, list):
        return [
            mapping.get(item, item) if isinstance(item, str) else references_rewrite(item, mapping, resolve)
            for item in node
        ]
    return node
