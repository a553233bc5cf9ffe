"""The one place the referral workflow writes to and reads from the FHIR gateway.

Writes go through ``fhir_gateway.services`` (validation, versioning, search index, access
policies, audit) as the hub's internal actor, owned by the requesting site so that the county
keeps access to its patient's record. A refusal by the gateway becomes a domain error (4xx).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from fhir_gateway import services
from fhir_gateway.context import INTERNAL_ACTOR
from fhir_gateway.errors import FhirError, Gone, NotFound
from hub.api_errors import DomainError

SOURCE = "urn:alliance-hub:referrals"


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
