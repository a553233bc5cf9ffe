"""Which stored records an actor may see: one description that is both a database filter and a record test.

The access rules (another app's, through ``hooks.search_scopes``) answer with a ``Visibility``; the gateway
applies it as SQL to every search, count, history, ``_include``/``_revinclude``, chain, ``_has`` and
``$everything``, and tests every single record against it before answering anything about the record
(a read, a ``410 Gone``, a ``412``, a conditional match): a record outside it is answered exactly as a
record that does not exist. So a search and a read cannot disagree, and status codes, counts and ids
tell a caller nothing about records it may not see.

A record is visible when its type is allowed and it is of an ``open_types`` type (the directory, whoever
owns it), or owned by one of ``owners``, or in the Patient compartment of one of ``patients``: the Patient
itself, or a record whose ``subject``/``patient``/``beneficiary`` reference names it
(http://hl7.org/fhir/R4/compartmentdefinition-patient.html; Provenance and AuditEvent are left out as they
list many patients' records at once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property

from django.db import connection

# The reference search parameters that put a record into a Patient's compartment here.
COMPARTMENT_PARAMS = ("subject", "patient", "beneficiary")
COMPARTMENT_EXCLUDED = ("Provenance", "AuditEvent")

# Column names of a ``fhir_search_res`` row and of a ``fhir_gateway_resourceversion`` row.
SEARCH_COLUMNS = ("rtype", "fhir_id", "owner", "resource_id")
VERSION_COLUMNS = ("resource_type", "fhir_id", "owner", "resource_id")


class Visibility:
    """The records one actor may see (``owners=None``: every owner).

    ``patient_shared(id)``, when given, says whether that one Patient is among ``patients`` without listing them
    all (the rules' point check); it must agree with ``patients`` for every id, and is asked before they are known.
    """

    def __init__(
        self,
        *,
        owners: Iterable[str] | None = None,
        patients: Iterable[str] | Callable[[], Iterable[str]] = (),
        types: Iterable[str] | None = None,
        excluded_types: Iterable[str] = (),
        open_types: Iterable[str] = (),
        patient_shared: Callable[[str], bool] | None = None,
    ):
        self.owners = None if owners is None else frozenset(owners)
        self._patients = patients
        self._patient_shared = patient_shared
        self.types = None if types is None else frozenset(types)
        self.excluded_types = frozenset(excluded_types)
        self.open_types = frozenset(open_types)

    def __repr__(self) -> str:
        return (
            f"Visibility(owners={self.owners}, types={self.types}, excluded={sorted(self.excluded_types)}, "
            f"open={sorted(self.open_types)})"
        )

    @cached_property
    def patients(self) -> frozenset[str]:
        """Patient ids whose compartments are visible (computed on first use: most reads never need them)."""
        value = self._patients() if callable(self._patients) else self._patients
        return frozenset(value)

    @property
    def unrestricted(self) -> bool:
        return self.owners is None and self.types is None and not self.excluded_types

    def type_allowed(self, resource_type: str) -> bool:
        if resource_type in self.excluded_types:
            return False
        return self.types is None or resource_type in self.types

    def plain_owners(self, resource_type: str | None) -> tuple[bool, frozenset[str] | None]:
        """``(True, owners)`` when this is a filter by owner alone for ``resource_type`` (so that counts per
        owner answer it), else ``(False, None)``."""
        if resource_type is None:
            if self.unrestricted:
                return True, None
            return False, None
        if not self.type_allowed(resource_type):
            return True, frozenset()
        if resource_type in self.open_types or self.owners is None:
            return True, None
        if self.patients:
            return False, None
        return True, self.owners

    def admits(self, *, resource_type: str, fhir_id: str, owner: str, pk: int | None) -> bool:
        """Whether the stored record (its current row's primary key ``pk``) is visible."""
        if not self.type_allowed(resource_type):
            return False
        if resource_type in self.open_types or self.owners is None or owner in self.owners:
            return True
        if resource_type == "Patient" and self._patient_shared is not None and "patients" not in self.__dict__:
            # One Patient asked about before the whole set is known (a room's admission, a record page): the
            # point check answers "in the set" without listing it; "no" still goes through the set below.
            if self._patient_shared(fhir_id):
                return True
        patients = self.patients
        if not patients:
            return False
        if resource_type == "Patient" and fhir_id in patients:
            return True
        if pk is None or resource_type in COMPARTMENT_EXCLUDED:
            return False
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM fhir_search_reference WHERE resource_id = %s AND target_type = 'Patient'"
                " AND target_id = ANY(%s) AND param = ANY(%s))",
                [pk, sorted(patients), list(COMPARTMENT_PARAMS)],
            )
            return bool(cursor.fetchone()[0])

    def sql(self, alias: str, resource_type: str | None, columns: tuple[str, ...] = SEARCH_COLUMNS) -> tuple[str, list]:
        """A condition on the row ``alias`` (``columns``: its type, id, owner and resource primary key), for
        records of ``resource_type`` (None: of any type, each judged by its own)."""
        rtype, fhir_id, owner, resource_id = (f"{alias}.{column}" for column in columns)
        if resource_type is not None:
            if not self.type_allowed(resource_type):
                return "FALSE", []
            if resource_type in self.open_types:
                return "TRUE", []
            return self._records(rtype, fhir_id, owner, resource_id, resource_type)
        parts, args = [], []
        if self.types is not None:
            parts.append(f"{rtype} = ANY(%s)")
            args.append(sorted(self.types))
        if self.excluded_types:
            parts.append(f"{rtype} <> ALL(%s)")
            args.append(sorted(self.excluded_types))
        records, more = self._records(rtype, fhir_id, owner, resource_id, None)
        if self.open_types and records != "TRUE":
            records, more = f"({rtype} = ANY(%s) OR {records})", [sorted(self.open_types), *more]
        parts.append(records)
        return "(" + " AND ".join(parts) + ")", args + more

    def _records(self, rtype, fhir_id, owner, resource_id, resource_type) -> tuple[str, list]:
        if self.owners is None:
            return "TRUE", []
        ors, args = [], []
        if self.owners:
            ors.append(f"{owner} = ANY(%s)")
            args.append(sorted(self.owners))
        patients = sorted(self.patients)
        if patients:
            if resource_type in (None, "Patient"):
                ors.append(f"({rtype} = 'Patient' AND {fhir_id} = ANY(%s))")
                args.append(patients)
            if resource_type not in COMPARTMENT_EXCLUDED:
                ors.append(
                    f"{resource_id} IN (SELECT vis_c.resource_id FROM fhir_search_reference vis_c "
                    "WHERE vis_c.target_type = 'Patient' AND vis_c.target_id = ANY(%s) AND vis_c.param = ANY(%s) "
                    "AND vis_c.rtype <> ALL(%s))"
                )
                args += [patients, list(COMPARTMENT_PARAMS), list(COMPARTMENT_EXCLUDED)]
        if not ors:
            return "FALSE", []
        return "(" + " OR ".join(ors) + ")", args

    def intersect(self, other: Visibility) -> Visibility:
        """What both allow (several rules registered: each may only narrow)."""
        if self.owners is None:
            owners = other.owners
        elif other.owners is None:
            owners = self.owners
        else:
            owners = self.owners & other.owners
        types = other.types if self.types is None else (self.types if other.types is None else self.types & other.types)
        mine, theirs = self._patients, other._patients
        return Visibility(
            owners=owners,
            patients=lambda: (
                frozenset(mine() if callable(mine) else mine) & frozenset(theirs() if callable(theirs) else theirs)
            ),
            types=types,
            excluded_types=self.excluded_types | other.excluded_types,
            open_types=self.open_types & other.open_types,
        )


NOTHING = Visibility(owners=())


def as_visibility(answer) -> Visibility | None:
    """A rule's answer (``None``, a set of owners, or a ``Visibility``) as a ``Visibility`` (None: everything)."""
    if answer is None or isinstance(answer, Visibility):
        return answer
    return Visibility(owners=answer)
