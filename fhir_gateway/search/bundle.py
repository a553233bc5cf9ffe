"""The searchset Bundle: entries, links, ``_summary`` and ``_elements`` (http://hl7.org/fhir/R4/search.html#summary)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import orjson
from django.db import connection

from fhir_gateway.search.definitions import summary_elements
from fhir_gateway.validation import required_elements

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}


def fetch(pks: list[int]) -> dict[int, dict]:
    """The current content of the resources ``pks`` (deleted ones left out)."""
    if not pks:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, content FROM fhir_gateway_resource WHERE id = ANY(%s) AND NOT deleted", [pks])
        return {pk: parse(content) for pk, content in cursor}


def stored(content):
    """The stored JSON text as a fragment orjson writes as is (a parsed value stays as it is)."""
    return orjson.Fragment(content) if isinstance(content, str | bytes) else content


def parse(content) -> dict:
    if not isinstance(content, str | bytes):
        return content
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:  # numbers beyond a double (valid JSON, stored as written)
        return json.loads(content)


def _subsetted(resource: dict, keep) -> dict:
    # A primitive's extensions (``_birthDate``) go with it.
    out = {key: value for key, value in resource.items() if keep(key[1:] if key.startswith("_") else key)}
    meta = dict(out.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    out["meta"] = meta
    return out


def _summarized(value, path: str, flags: dict[str, list[str]]):
    """A backbone element (or a list of them) with only its summary elements, recursively."""
    if isinstance(value, list):
        return [_summarized(item, path, flags) for item in value]
    if not isinstance(value, dict):
        return value
    wanted = flags[path]
    out = {}
    for key, item in value.items():
        name = key[1:] if key.startswith("_") else key  # a primitive's extensions go with it
        if name in wanted:
            inner = f"{path}.{name}"
            out[key] = _summarized(item, inner, flags) if inner in flags else item
    return out


def shape(resource: dict, summary: str | None, elements: list[str] | None) -> dict:
    """Apply ``_summary`` or ``_elements`` to one matched resource (http://hl7.org/fhir/R4/search.html#summary).

    ``true``: the elements the definition marks as summary, and the mandatory ones, and inside backbone
    elements (``Observation.component``) their summary elements; ``text``: only
    ``text``, ``id``, ``meta`` and the top-level mandatory elements; ``data``: all but ``text``.
    """
    resource_type = resource.get("resourceType")
    if summary == "true":
        flags = summary_elements()
        wanted = set(flags.get(resource_type, ())) | required_elements(resource_type)
        wanted |= {"resourceType", "id", "meta"}
        out = _subsetted(resource, lambda key: key in wanted)
        for key, value in out.items():
            if f"{resource_type}.{key}" in flags:
                out[key] = _summarized(value, f"{resource_type}.{key}", flags)
        return out
    if summary == "text":
        wanted = {"resourceType", "id", "meta", "text", *required_elements(resource_type)}
        return _subsetted(resource, lambda key: key in wanted)
    if summary == "data":
        return _subsetted(resource, lambda key: key != "text")
    if elements:
        wanted = {"resourceType", "id", "meta", *elements}

        def keep(key: str) -> bool:
            # a choice element asked for as ``value`` comes as ``valueQuantity``
            return key in wanted or any(key.startswith(name) and key[len(name) :][:1].isupper() for name in elements)

        return _subsetted(resource, keep)
    return resource


def link(base: str, params: list[tuple[str, str]], cursor: str | None = None) -> str:
    query = list(params) + ([("_cursor", cursor)] if cursor else [])
    return f"{base}?{urlencode(query)}" if query else base


def searchset(*, base_url: str, path: str, used: list[tuple[str, str]], page, entries: list[dict], cursor: str | None):
    bundle: dict = {"resourceType": "Bundle", "type": "searchset"}
    if page.total is not None:
        bundle["total"] = page.total
    links = [{"relation": "self", "url": link(path, used, cursor)}]
    if page.next_cursor:
        links.append({"relation": "next", "url": link(path, used, page.next_cursor)})
    if page.previous_cursor:
        links.append({"relation": "previous", "url": link(path, used, page.previous_cursor)})
    bundle["link"] = links
    if entries:
        bundle["entry"] = entries
    return bundle


def entry(base_url: str, resource, mode: str, resource_type: str | None = None, fhir_id: str | None = None) -> dict:
    """A Bundle entry; ``resource_type`` and ``fhir_id`` are required when ``resource`` is a stored fragment."""
    resource_type = resource_type or resource["resourceType"]
    fhir_id = fhir_id or resource["id"]
    return {"fullUrl": f"{base_url}/{resource_type}/{fhir_id}", "resource": resource, "search": {"mode": mode}}
