"""The one place the referral workflow writes to and reads from the FHIR gateway.

Writes go through ``fhir_gateway.services`` (validation, versioning, search index, access
policies, audit) as the hub's internal actor, owned by the requesting site so that the county
keeps access to its patient's record. A refusal by the gateway becomes a domain error (4xx).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from fhir_gateway import services
from fhir_gateway.context import INTERNAL, INTERNAL_ACTOR, Actor
from fhir_gateway.errors import FhirError, Gone, NotFound
from hub.access.constants import WORKFLOW_SOURCE
from hub.api_errors import DomainError

SOURCE = WORKFLOW_SOURCE  # marks the workflow's records: only the workflow changes them (``hub.access.rules``)
BASE_URL = "urn:alliance-hub:fhir"  # only to resolve the Bundle's own references; nothing is served from it


@dataclass(frozen=True)
class StoredResource:
    resource: dict
    owner: str


@contextmanager
def _refusals_as_domain_errors():
    try:
        yield
    except FhirError as exc:
        status = exc.status if 400 <= exc.status < 500 else 422
        raise DomainError(f"FHIR: {exc.diagnostics}", code="fhir_refused", status_code=status) from exc


def fhir_create(*, resource: dict, owner: str) -> dict:
    with _refusals_as_domain_errors():
        return services.resource_create(resource=resource, actor=INTERNAL_ACTOR, source=SOURCE, owner=owner).resource


def fhir_create_together(*, resources: list[tuple[str, dict]], owner: str) -> dict[str, str]:
    """Create resources that refer to each other by ``urn:uuid:`` in one transaction Bundle (one bulk write).

    ``resources`` are (placeholder, resource) pairs; returns each placeholder's ``Type/id``.
    """
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": urn,
                "resource": {**resource, "meta": {**(resource.get("meta") or {}), "source": SOURCE}},
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
            for urn, resource in resources
        ],
    }
    actor = Actor(kind=INTERNAL, id=INTERNAL_ACTOR.id, display=INTERNAL_ACTOR.display, site=owner)
    with _refusals_as_domain_errors():
        response = services.bundle_process(bundle=bundle, actor=actor, base_url=BASE_URL)
    placed = {}
    for (urn, _resource), entry in zip(resources, response["entry"], strict=True):
        resource_type, fhir_id = entry["response"]["location"].split("/")[:2]
        placed[urn] = f"{resource_type}/{fhir_id}"
    return placed


def fhir_update(*, resource: dict, owner: str) -> dict:
    with _refusals_as_domain_errors():
        result = services.resource_update(
            resource_type=resource["resourceType"],
            fhir_id=resource["id"],
            resource=resource,
            actor=INTERNAL_ACTOR,
            source=SOURCE,
            owner=owner,
        )
    return result.resource


def fhir_read(*, reference: str) -> StoredResource | None:
    """The current content and owner of ``Type/id``, or ``None`` when absent or deleted."""
    resource_type, _sep, fhir_id = reference.partition("/")
    try:
        stored, content = services.resource_read_stored(
            resource_type=resource_type, fhir_id=fhir_id, actor=INTERNAL_ACTOR
        )
    except (NotFound, Gone):
        return None
    except FhirError:
        return None
    return StoredResource(resource=content, owner=stored.owner)


def fhir_patients_with_identifier(*, identifiers: list[tuple[str, str]]) -> list[StoredResource]:
    """The Patients carrying any of ``identifiers`` ((system, value) pairs), whoever owns them."""
    value = ",".join(f"{system}|{code}".replace(",", "\\,") for system, code in identifiers)
    with _refusals_as_domain_errors():
        bundle = services.resource_search(
            resource_type="Patient", params=[("identifier", value)], actor=INTERNAL_ACTOR, base_url=BASE_URL
        )
    found = []
    for entry in bundle.get("entry") or []:
        stored = fhir_read(reference=f"Patient/{entry['resource']['id']}")
        if stored is not None:
            found.append(stored)
    return found
