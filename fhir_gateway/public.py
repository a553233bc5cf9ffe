"""What the other apps may read of the gateway's tables, without importing its models (an import-linter contract).

The gateway's public modules are this one, ``services`` (every FHIR interaction, with access policies and
audit), ``context``, ``errors``, ``hooks``, ``visibility``, ``interactions`` (an interaction scope for work
done outside the gateway that must be authorised and audited like one), and ``api`` (views and the
error-handling decorator). Everything here is the gateway's own bookkeeping read: no access policy runs and
nothing is audited, so callers use it for the hub's own decisions (what to sync, whom a grant concerns), never
to show a record to a person; showing goes through ``services`` as that person's actor.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from fhir_gateway.models import Resource, ResourceVersion
from fhir_gateway.storage.writes import instant
from fhir_gateway.visibility import Visibility

__all__ = [
    "canonical_owners",
    "current_ids_owned",
    "contents_of",
    "feed_origin",
    "ids_owned",
    "instant",
    "known_ids",
    "owner_of",
    "owners_of",
    "patients_of",
    "resource_check",
    "sources_of",
    "sources_owned",
    "stored_visible",
]


def owner_of(*, resource_type: str, fhir_id: str) -> str | None:
    """The owner of the current, not deleted record (None when there is none)."""
    return (
        Resource.objects.filter(resource_type=resource_type, fhir_id=fhir_id, deleted=False)
        .values_list("owner", flat=True)
        .first()
    )


def owners_of(references: Iterable[str]) -> dict[str, str]:
    """``{"Type/id": owner}`` of the current, not deleted records among ``references`` (others left out)."""
    wanted: dict[str, set[str]] = {}
    for reference in references:
        resource_type, _, fhir_id = reference.partition("/")
        if fhir_id:
            wanted.setdefault(resource_type, set()).add(fhir_id)
    if not wanted:
        return {}
    condition = Q()
    for resource_type, fhir_ids in wanted.items():
        condition |= Q(resource_type=resource_type, fhir_id__in=fhir_ids)
    rows = Resource.objects.filter(condition, deleted=False).values_list("resource_type", "fhir_id", "owner")
    return {f"{resource_type}/{fhir_id}": owner for resource_type, fhir_id, owner in rows}


def patients_of(references: Iterable[str]) -> dict[str, list[str]]:
    """``{"Type/id": ["Patient/<id>", ...]}``: the patients the current records among ``references`` are about (their
    ``patient``, ``subject`` or ``beneficiary``), from the search index; a Patient is about itself."""
    found: dict[str, list[str]] = {}
    pairs = []
    for reference in references:
        resource_type, _, fhir_id = reference.partition("/")
        if not fhir_id:
            continue
        if resource_type == "Patient":
            found[reference] = [reference]
        else:
            pairs.append((resource_type, fhir_id))
    if not pairs:
        return found
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.rtype, s.fhir_id, r.target_id FROM fhir_search_res s "
            "JOIN unnest(%s::text[], %s::text[]) AS w(rtype, fhir_id) ON s.rtype = w.rtype AND s.fhir_id = w.fhir_id "
            "JOIN fhir_search_reference r ON r.resource_id = s.resource_id AND r.target_type = 'Patient' "
            "AND r.param IN ('patient', 'subject', 'beneficiary')",
            [[t for t, _i in pairs], [i for _t, i in pairs]],
        )
        for resource_type, fhir_id, target in cursor.fetchall():
            refs = found.setdefault(f"{resource_type}/{fhir_id}", [])
            if f"Patient/{target}" not in refs:
                refs.append(f"Patient/{target}")
    return found


def resource_check(resource: object, *, expected_type: str | None = None) -> None:
    """Raise ``FhirError`` (a 400 with one issue per problem) unless ``resource`` is a valid R4 resource; for
    what others take in as FHIR without storing it (e.g. ``$match``'s Parameters)."""
    from fhir_gateway import validation

    validation.resource_check(resource, expected_type=expected_type)


def stored_visible(*, visibility: Visibility | None, resource_type: str, fhir_id: str) -> bool:
    """Whether the record exists (not deleted) and ``visibility`` admits it, as the gateway judges a read."""
    row = (
        Resource.objects.filter(resource_type=resource_type, fhir_id=fhir_id, deleted=False)
        .values_list("pk", "owner")
        .first()
    )
    if row is None:
        return False
    if visibility is None:
        return True
    return visibility.admits(resource_type=resource_type, fhir_id=fhir_id, owner=row[1], pk=row[0])


def contents_of(*, resource_type: str, fhir_ids: Iterable[str]) -> dict[str, dict]:
    """``{id: content}`` of the current, not deleted records among ``fhir_ids``."""
    rows = Resource.objects.filter(resource_type=resource_type, fhir_id__in=list(fhir_ids), deleted=False)
    return dict(rows.values_list("fhir_id", "content"))


def sources_of(*, resource_type: str, fhir_ids: Iterable[str]) -> dict[str, str]:
    """``{id: meta.source}`` of the current, not deleted records among ``fhir_ids``."""
    rows = Resource.objects.filter(resource_type=resource_type, fhir_id__in=list(fhir_ids), deleted=False)
    return dict(rows.values_list("fhir_id", "source"))


def known_ids(*, resource_type: str, fhir_ids: Iterable[str]) -> set[str]:
    """The ids among ``fhir_ids`` that were ever stored (deleted ones included)."""
    rows = Resource.objects.filter(resource_type=resource_type, fhir_id__in=list(fhir_ids))
    return set(rows.values_list("fhir_id", flat=True))


def ids_owned(*, resource_type: str, owner: str, limit: int | None = None) -> list[str]:
    """Ids of ``owner``'s current records of ``resource_type``, oldest first (e.g. a site's demo patients)."""
    rows = Resource.objects.filter(resource_type=resource_type, owner=owner, deleted=False).order_by("pk")
    ids = rows.values_list("fhir_id", flat=True)
    return list(ids[:limit] if limit is not None else ids)


def canonical_owners(*, resource_type: str, url: str) -> set[str]:
    """The owners of the current records of ``resource_type`` published under the canonical ``url``."""
    rows = Resource.objects.filter(resource_type=resource_type, deleted=False).filter(Q(content__url=url))
    return set(rows.values_list("owner", flat=True))


def feed_origin(*, resource_type: str, fhir_id: str, kinds: Iterable[str]) -> tuple[str, str] | None:
    """``(owner, meta.source)`` of the newest version of the current record that an actor of one of ``kinds``
    wrote (e.g. the sync engine or the owner's own system), or None. The owner is the gateway's, which no
    client writes; so this says where the record came from, whatever its current content claims."""
    current = (
        Resource.objects.filter(resource_type=resource_type, fhir_id=fhir_id, deleted=False)
        .values_list("pk", "owner")
        .first()
    )
    if current is None:
        return None
    source = (
        ResourceVersion.objects.filter(resource_id=current[0], actor_kind__in=list(kinds), owner=current[1])
        .order_by("-version_id")
        .values_list("source", flat=True)
        .first()
    )
    return None if source is None else (current[1], source)


def current_ids_owned(*, resource_type: str, owner: str, fhir_ids: Iterable[str]) -> list[str]:
    """The ids among ``fhir_ids`` whose current record ``owner`` holds and that are not deleted."""
    rows = Resource.objects.filter(resource_type=resource_type, owner=owner, fhir_id__in=list(fhir_ids), deleted=False)
    return list(rows.values_list("fhir_id", flat=True))


def sources_owned(*, resource_type: str, owner: str, source_prefix: str) -> list[str]:
    """``meta.source`` of ``owner``'s current records of ``resource_type`` whose source starts with the prefix
    (the records the sync pulled from one site's endpoint)."""
    rows = Resource.objects.filter(
        resource_type=resource_type, owner=owner, deleted=False, source__startswith=source_prefix
    )
    return list(rows.values_list("source", flat=True))
