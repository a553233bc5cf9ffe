"""How a site's record becomes the hub's copy: its id, its references, its provenance stamps.

A record keeps one hub id per (site, id at the site), ``<site>-<id>``, whether it was pulled or pushed,
so pulling and pushing the same record, or delivering it twice, writes one resource. ``meta.source``
names the site's record and version; a tag names the site.
"""

from __future__ import annotations

import hashlib
import re

import orjson

SOURCE_SITE_SYSTEM = "https://alliance.example/fhir/CodeSystem/source-site"
_ID_OK = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[^/]+)?$")


def hub_id(site: str, source_id: str) -> str:
    candidate = f"{site}-{source_id}".replace("_", "-")
    if _ID_OK.match(candidate):
        return candidate
    digest = hashlib.sha1(f"{site}|{source_id}".encode(), usedforsecurity=False).hexdigest()
    return f"{site[:20].replace('_', '-')}-{digest}"


def references_localize(value, *, site: str, base_url: str):
    """Point the site's references (``Patient/123`` or ``<base>/Patient/123``) at the hub's copies, in place."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                value[key] = _localized(item, site=site, base_url=base_url)
            else:
                references_localize(item, site=site, base_url=base_url)
    elif isinstance(value, list):
        for item in value:
            references_localize(item, site=site, base_url=base_url)
    return value


def _localized(reference: str, *, site: str, base_url: str) -> str:
    relative = reference
    if base_url and reference.startswith(base_url.rstrip("/") + "/"):
        relative = reference[len(base_url.rstrip("/")) + 1 :]
    match = _RELATIVE.match(relative)
    if match is None:
        return reference  # contained (#), urn:, or another server's record: left as the site wrote it
    return f"{match.group(1)}/{hub_id(site, match.group(2))}"


def source_of(resource: dict, *, base_url: str) -> str:
    """The site's record and version, for ``meta.source``; unchanged records compare equal."""
    meta = resource.get("meta") or {}
    version = meta.get("versionId") or meta.get("lastUpdated") or ""
    source = f"{base_url.rstrip('/')}/{resource.get('resourceType')}/{resource.get('id')}"
    return f"{source}/_history/{version}" if version else source


def site_tag_add(resource: dict, site: str) -> None:
    meta = resource.setdefault("meta", {})
    tags = [t for t in meta.get("tag") or [] if t.get("system") != SOURCE_SITE_SYSTEM]
    tags.append({"system": SOURCE_SITE_SYSTEM, "code": site})
    meta["tag"] = tags


def hub_copy(resource: dict, *, site: str, base_url: str) -> dict:
    """The resource as the hub stores it for ``site``: hub id, local references, source and site tag."""
    copy = orjson.loads(orjson.dumps({k: v for k, v in resource.items() if k != "meta"}))  # a deep copy, fast
    meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in ("versionId", "lastUpdated", "source")}
    copy["meta"] = {**meta, "source": source_of(resource, base_url=base_url)}
    copy["id"] = hub_id(site, resource["id"])
    references_localize(copy, site=site, base_url=base_url)
    site_tag_add(copy, site)
    return copy


def provenance_for(*, site: str, base_url: str, targets: list[str], recorded: str) -> dict:
    """One Provenance for the records of a page (http://hl7.org/fhir/R4/provenance.html)."""
    return {
        "resourceType": "Provenance",
        "target": [{"reference": t} for t in targets],
        "recorded": recorded,
        "activity": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "UPDATE"}]
        },
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "author",
                        }
                    ]
                },
                "who": {"identifier": {"system": SOURCE_SITE_SYSTEM, "value": site}, "display": site},
            }
        ],
        "entity": [{"role": "source", "what": {"display": base_url}}],
        "meta": {"tag": [{"system": SOURCE_SITE_SYSTEM, "code": site}]},
    }
