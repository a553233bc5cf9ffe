"""Reads of the master patient index that the hub's workflow uses (e.g. a referral's patient across sites)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from federation.identity.models import MpiRecord


@dataclass(frozen=True)
class Person:
    """One person as the alliance knows them: the golden Patient and every site's Patient linked to it."""

    golden_id: str  # the golden Patient's id in the gateway (published once two sites hold the person)
    patients: tuple[tuple[str, str], ...]  # (site code, "Patient/<id>") for each site record


def person_of(*, patient_id: str) -> Person | None:
    """The person a site's ``Patient/<patient_id>`` belongs to, or None when the index does not know it."""
    rows = list(  # one query: every record of the golden record this Patient's record is linked to
        MpiRecord.objects.filter(golden__records__patient_id=patient_id)
        .order_by("site_code", "patient_id")
        .values_list("site_code", "patient_id", "golden__uid")
    )
    if not rows:
        return None
    return Person(golden_id=str(rows[0][2]), patients=tuple((site, f"Patient/{pid}") for site, pid, _uid in rows))


def patient_at_site(*, patient_id: str, site_code: str) -> str | None:
    """The same person's ``Patient/<id>`` at ``site_code`` (e.g. where an opinion goes back to), if any."""
    person = person_of(patient_id=patient_id)
    if person is None:
        return None
    return next((ref for site, ref in person.patients if site == site_code), None)


def patients_of_same_people(*, patient_ids: Iterable[str]) -> list[tuple[str, str]]:
    """(site code, ``Patient/<id>``) of every site Patient linked to the same person as any of ``patient_ids``.

    The given Patients are included when the index knows them; one query, for access checks.
    """
    ids = [patient_id for patient_id in patient_ids if patient_id]
    if not ids:
        return []
    goldens = MpiRecord.objects.filter(patient_id__in=ids).values("golden_id")
    rows = MpiRecord.objects.filter(golden_id__in=goldens).order_by("site_code", "patient_id")
    return [(site, f"Patient/{patient_id}") for site, patient_id in rows.values_list("site_code", "patient_id")]


def same_people_refs(*, patient_id: str):
    """``patients_of_same_people`` of one Patient as a subquery: one column, ``Patient/<id>``, for ``__in`` in an
    access check that is then one statement."""
    from django.db.models import CharField, Value
    from django.db.models.functions import Concat

    goldens = MpiRecord.objects.filter(patient_id=patient_id).values("golden_id")
    refs = MpiRecord.objects.filter(golden_id__in=goldens)
    return refs.annotate(ref=Concat(Value("Patient/"), "patient_id", output_field=CharField())).values("ref")


def patient_ids_by_pinyin(*, site_code: str, prefix: str, limit: int = 20) -> list[str]:
    """Patient ids of ``site_code`` whose name in toneless pinyin (family then given, no spaces) starts with
    ``prefix`` (lower-case letters), from the index's name features; for a search box, not for matching."""
    from django.db.models import TextField
    from django.db.models.fields.json import KeyTextTransform
    from django.db.models.functions import Concat

    if not prefix:
        return []
    family = KeyTextTransform("2", KeyTextTransform("family", "features"))
    given = KeyTextTransform("2", KeyTextTransform("given", "features"))
    rows = (
        MpiRecord.objects.filter(site_code=site_code)
        .annotate(joined=Concat(family, given, output_field=TextField()))
        .filter(joined__startswith=prefix)
        .order_by("patient_id")
        .values_list("patient_id", flat=True)
    )
    return list(rows[:limit])
