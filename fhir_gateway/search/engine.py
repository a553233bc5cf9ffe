"""Search entry points the REST API and the storage call (contract; the search module fills it in)."""

from __future__ import annotations

from django.db.models import Q

from fhir_gateway.context import Actor
from fhir_gateway.errors import FhirError


def match_pks(*, resource_type: str, params: list[tuple[str, str]]) -> list[int]:
    """Primary keys of the current, non-deleted resources matching ``params`` (conditional interactions).

    Minimal until the search module lands: ``_id`` and ``identifier`` (``system|value`` or ``value``).
    """
    from fhir_gateway.models import Resource

    query = Resource.objects.filter(resource_type=resource_type, deleted=False)
    for name, value in params:
        if name == "_id":
            query = query.filter(fhir_id__in=value.split(","))
        elif name == "identifier":
            alternatives = Q()
            for token in value.split(","):
                system, sep, code = token.rpartition("|")
                wanted = {"value": code} if not sep else {"system": system, "value": code}
                alternatives |= Q(content__identifier__contains=[wanted])
            query = query.filter(alternatives)
        else:
            raise FhirError(
                400, f"Search parameter {name!r} is not supported here", code="not-supported", expression=[name]
            )
    return list(query.values_list("pk", flat=True)[:2])


def search(
    *, resource_type: str | None, params: list[tuple[str, str]], actor: Actor, base_url: str, strict: bool = False
) -> dict:
    """A searchset Bundle for ``params`` at type level (or system level when ``resource_type`` is None)."""
    raise FhirError(501, "Search is not implemented yet", code="not-supported")


def patient_everything(*, fhir_id: str, params: list[tuple[str, str]], actor: Actor, base_url: str) -> dict:
    """``Patient/[id]/$everything`` as a searchset Bundle."""
    raise FhirError(501, "$everything is not implemented yet", code="not-supported")


def supported_parameters(resource_type: str) -> list[dict]:
    """``[{"name", "type", "definition", "documentation"}]`` for the CapabilityStatement."""
    return []
