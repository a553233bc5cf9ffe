"""Inbound: a site's system posts a batch or transaction Bundle of its records to the hub.

Each record is written under its hub id ``<site>-<id at the site>`` (the id the pull engine uses too), so
the same record sent twice, even by two racing deliveries, or both pushed and pulled, is one resource.
Records carry the site in ``meta.source`` and a tag, and a Provenance the hub writes itself names the site as
their author.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.db import transaction
from django.utils.translation import gettext as _

from federation.identity.services import patients_index
from federation.sync.records import hub_id, provenance_for, references_localize, site_tag_add
from fhir_gateway import services
from fhir_gateway.context import INTERNAL, SYSTEM, Actor
from fhir_gateway.errors import FhirError, Forbidden

_WRITES = ("POST", "PUT")


def _source_id(entry: dict, resource: dict, url: str) -> str:
    if resource.get("id"):
        return str(resource["id"])
    parts = url.split("?")[0].strip("/").split("/")
    if len(parts) >= 2:
        return parts[1]
    full_url = str(entry.get("fullUrl") or "")
    if full_url.startswith("urn:uuid:"):
        return full_url.removeprefix("urn:uuid:")
    return str(uuid.uuid4())  # a POST with nothing to recognise it by: a new record each time


def _rewrite(bundle: dict, site: str) -> tuple[list[dict], dict[str, str], list[str]]:
    entries, mapping, written = [], {}, []
    for index, entry in enumerate(bundle.get("entry") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
            raise FhirError(400, f"Bundle.entry[{index}] has no request", expression=[f"Bundle.entry[{index}]"])
        request = dict(entry["request"])
        method, url = str(request.get("method", "")).upper(), str(request.get("url", ""))
        resource = entry.get("resource")
        if method in _WRITES and isinstance(resource, dict):
            rtype = resource.get("resourceType") or url.split("/")[0].split("?")[0]
            source_id = _source_id(entry, resource, url)
            target = f"{rtype}/{hub_id(site, source_id)}"
            if entry.get("fullUrl"):
                mapping[entry["fullUrl"]] = target
            resource = {**resource, "id": hub_id(site, source_id)}
            meta = dict(resource.get("meta") or {})
            for server_element in ("versionId", "lastUpdated"):  # the hub's own version, not the site's
                meta.pop(server_element, None)
            meta["source"] = f"urn:alliance:site:{site}#{rtype}/{source_id}"
            resource["meta"] = meta
            site_tag_add(resource, site)
            request = {"method": "PUT", "url": target}
            written.append(target)
        elif method in ("GET", "DELETE") and "?" not in url:
            parts = url.strip("/").split("/")
            if len(parts) >= 2:
                request["url"] = "/".join([parts[0], hub_id(site, parts[1]), *parts[2:]])
        entries.append({"resource": resource, "request": request} if resource is not None else {"request": request})
    return entries, mapping, written


def _references_map(value, mapping: dict[str, str]):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str) and item in mapping:
                value[key] = mapping[item]
            else:
                _references_map(item, mapping)
    elif isinstance(value, list):
        for item in value:
            _references_map(item, mapping)


def bundle_intake(*, bundle: dict, actor: Actor, base_url: str) -> dict:
    """Process a site's Bundle as that site's system; returns the response Bundle."""
    if actor.kind != SYSTEM or not actor.site:
        raise Forbidden(_("Only a member site's system posts records to the intake."))
    if (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type")
        not in (
            "batch",
            "transaction",
        )
    ):
        raise FhirError(400, _("The body must be a batch or transaction Bundle."), expression=["Bundle"])
    site = actor.site
    entries, mapping, _written = _rewrite(bundle, site)
    for entry in entries:
        if entry.get("resource") is not None:
            references_localize(entry["resource"], site=site, base_url="")  # the site's own ids first,
            _references_map(entry["resource"], mapping)  # then its urn:uuid fullUrls
    with transaction.atomic():
        response = services.bundle_process(
            bundle={"resourceType": "Bundle", "type": bundle["type"], "entry": entries}, actor=actor, base_url=base_url
        )
        answers = response.get("entry") or []
        stored = [
            entry
            for entry, answer in zip(entries, answers, strict=False)
            if entry.get("resource") is not None
            and entry["request"]["method"] == "PUT"
            and str((answer.get("response") or {}).get("status", "")).startswith("2")
        ]
        if stored:
            # The hub's own record of where these came from: written by the hub for the site, not by the site's
            # client, whose scopes (e.g. ``system/Patient.write``) need not cover Provenance.
            provenance = provenance_for(
                site=site,
                base_url=f"urn:alliance:site:{site}",
                targets=[entry["request"]["url"] for entry in stored],
                recorded=datetime.now(UTC).isoformat(),
            )
            hub = Actor(kind=INTERNAL, id="intake", display=f"intake {site}", site=site)
            services.resource_create(resource=provenance, actor=hub, owner=site)
        patients_index(
            site=site, patients=[e["resource"] for e in stored if e["resource"].get("resourceType") == "Patient"]
        )
    return response
