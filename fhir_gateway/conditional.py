"""Conditional interactions: resolve search criteria to at most one resource (http://hl7.org/fhir/R4/http.html#cond-update).

Writers using the same criteria are serialised with a transaction-scoped advisory lock, so two racing
conditional creates (or two deliveries of the same record) make one resource, not two.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.utils.translation import gettext as _

from fhir_gateway.context import Actor
from fhir_gateway.errors import FhirError
from fhir_gateway.models import Resource
from fhir_gateway.search import engine
from fhir_gateway.storage import repository


def criteria_parse(query: str) -> list[tuple[str, str]]:
    """``identifier=a|b&_id=x`` (a leading ``?`` or ``Type?`` allowed) as ``[(name, value), ...]``."""
    query = query.split("?", 1)[1] if "?" in query else query
    params = [(name, value) for name, value in parse_qsl(query, keep_blank_values=True) if name]
    if not params:
        raise FhirError(400, _("Conditional criteria are empty"), code="invalid")
    return params


def lock_key(resource_type: str, params: list[tuple[str, str]]) -> str:
    """The advisory lock of conditional writes with these criteria (whatever their order)."""
    return f"{resource_type}?{sorted(params)}"


def matches_find(
    *, resource_type: str, query: str, actor: Actor, limit: int = 2, lock: bool = True
) -> list[tuple[int, str]]:
    """``[(pk, fhir_id), ...]`` of up to ``limit`` current resources matching ``query`` among those ``actor``
    may see: records it may not see never match, so a status code or an id cannot reveal them.

    ``lock`` (for conditional writes) takes the criteria lock until the transaction ends; resolving a
    conditional reference only reads.
    """
    params = criteria_parse(query)
    if lock:
        repository.lock_condition(lock_key(resource_type, params))
    pks = engine.match_pks(resource_type=resource_type, params=params, actor=actor)[:limit]
    if not pks:
        return []
    return list(Resource.objects.filter(pk__in=pks).values_list("pk", "fhir_id"))


def ids_of(pks: list[int]) -> dict[int, str]:
    """``{pk: fhir_id}`` in one query."""
    return dict(Resource.objects.filter(pk__in=pks).values_list("pk", "fhir_id"))


def too_many(resource_type: str, query: str) -> FhirError:
    return FhirError(
        412,
        _("More than one %(type)s matches %(criteria)r") % {"type": resource_type, "criteria": query},
        code="multiple-matches",
        severity="error",
    )
