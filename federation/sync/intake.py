"""Storing a page of a site's records: validate each, dead-letter the bad ones, write the rest at once.

Used by the pull engine for each page. The records are written as one transaction Bundle of PUTs
(hub ids are stable, so a repeated delivery updates), with a Provenance naming the site; records whose
source version is already stored are skipped, so resuming a sync never adds versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from federation.identity.services import patients_index
from federation.sync.dead_letters import dead_letter_record, dead_letters_resolve, error_of
from federation.sync.records import hub_copy, provenance_for
from fhir_gateway import services
from fhir_gateway.context import SYNC, Actor
from fhir_gateway.errors import FhirError
from fhir_gateway.public import sources_of

_ENTRY = re.compile(r"^Bundle\.entry\[(\d+)\]")


@dataclass
class StoreResult:
    stored: int = 0
    unchanged: int = 0
    dead_lettered: int = 0
    stored_ids: list[str] = field(default_factory=list)


def sync_actor(site: str) -> Actor:
    return Actor(kind=SYNC, id=f"sync:{site}", display=f"sync {site}", site=site)


def hub_base_url() -> str:
    return getattr(settings, "FEDERATION_HUB_BASE_URL", "http://127.0.0.1:8000/fhir")


def _unchanged(copies: list[dict]) -> set[tuple[str, str]]:
    by_type: dict[str, dict[str, str]] = {}
    for copy in copies:
        by_type.setdefault(copy["resourceType"], {})[copy["id"]] = copy["meta"]["source"]
    same = set()
    for rtype, sources in by_type.items():
        for fhir_id, source in sources_of(resource_type=rtype, fhir_ids=list(sources)).items():
            if sources.get(fhir_id) == source:
                same.add((rtype, fhir_id))
    return same


def records_store(*, site: str, base_url: str, resources: list[dict], actor: Actor | None = None) -> StoreResult:
    """Store ``resources`` pulled from ``site`` (call inside a transaction, with the cursor's update)."""
    actor = actor or sync_actor(site)
    result = StoreResult()
    ready: list[tuple[dict, dict]] = []  # (as the site sent it, the hub's copy)
    for resource in resources:
        rtype, source_id = resource.get("resourceType"), resource.get("id")
        if not isinstance(rtype, str) or not isinstance(source_id, str):
            dead_letter_record(
                site=site, resource_type=str(rtype), source_id=str(source_id), content=resource,
                error=error_of([{"severity": "error", "code": "required", "diagnostics": "no resourceType or id"}]),
            )  # fmt: skip
            result.dead_lettered += 1
            continue
        ready.append((resource, hub_copy(resource, site=site, base_url=base_url)))
    same = _unchanged([c for _r, c in ready])
    fresh = [(r, c) for r, c in ready if (c["resourceType"], c["id"]) not in same]
    result.unchanged = len(ready) - len(fresh)
    if not fresh:
        return result
    _write(site=site, base_url=base_url, fresh=fresh, actor=actor, result=result)
    return result


def _write(*, site: str, base_url: str, fresh: list[tuple[dict, dict]], actor: Actor, result: StoreResult) -> None:
    now = datetime.now(UTC).isoformat()
    targets = [f"{c['resourceType']}/{c['id']}" for _r, c in fresh]
    provenance = provenance_for(site=site, base_url=base_url, targets=targets, recorded=now)
    stored = _transaction_store(site=site, fresh=fresh, provenance=provenance, actor=actor, result=result)
    by_type: dict[str, list[str]] = {}
    for resource, _copy in stored:
        by_type.setdefault(resource["resourceType"], []).append(resource["id"])
    for rtype, ids in by_type.items():
        dead_letters_resolve(site=site, resource_type=rtype, source_ids=ids)
    result.stored += len(stored)
    result.stored_ids += [f"{c['resourceType']}/{c['id']}" for _r, c in stored]
    patients_index(site=site, patients=[c for _r, c in stored if c["resourceType"] == "Patient"])


def _entry_index(error: FhirError) -> int | None:
    """The position of the refused entry, from the gateway's ``Bundle.entry[n]`` expression."""
    for issue in error.issues:
        for expression in issue.get("expression") or []:
            match = _ENTRY.match(expression)
            if match:
                return int(match.group(1))
    return None


def _transaction_store(
    *, site: str, fresh: list[tuple[dict, dict]], provenance: dict, actor: Actor, result: StoreResult
) -> list[tuple[dict, dict]]:
    """Store ``fresh`` in one transaction; an entry the gateway refuses is dead-lettered and the rest retried."""
    pending = list(fresh)
    while pending:
        entries = [
            {"resource": c, "request": {"method": "PUT", "url": f"{c['resourceType']}/{c['id']}"}} for _r, c in pending
        ]
        provenance["target"] = [{"reference": e["request"]["url"]} for e in entries]
        entries.append({"resource": provenance, "request": {"method": "POST", "url": "Provenance"}})
        try:
            services.bundle_process(
                bundle={"resourceType": "Bundle", "type": "transaction", "entry": entries},
                actor=actor,
                base_url=hub_base_url(),
            )
            return pending
        except FhirError as error:
            index = _entry_index(error)
            if index is None or index >= len(pending):
                return _one_by_one(site=site, fresh=pending, actor=actor, result=result)
            resource, _copy = pending.pop(index)
            dead_letter_record(
                site=site, resource_type=resource["resourceType"], source_id=resource["id"], content=resource,
                error=error.outcome(),
            )  # fmt: skip
            result.dead_lettered += 1
    return pending


def _one_by_one(*, site: str, fresh: list[tuple[dict, dict]], actor: Actor, result: StoreResult) -> list:
    """The slow path, for a refusal no entry explains: each record on its own, the refused ones dead-lettered."""
    stored = []
    for resource, copy in fresh:
        try:
            services.resource_update(resource_type=copy["resourceType"], fhir_id=copy["id"], resource=copy, actor=actor)
        except FhirError as error:
            dead_letter_record(
                site=site, resource_type=resource["resourceType"], source_id=resource["id"], content=resource,
                error=error.outcome(),
            )  # fmt: skip
            result.dead_lettered += 1
        else:
            stored.append((resource, copy))
    return stored
