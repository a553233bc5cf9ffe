"""Finding the patient and the records a request refers to.

A requester names a patient their site holds, as ``Patient/<id>`` or by one of that Patient's identifiers
(``system|value``; the resident ID as ``urn:alliance:resident-id|<number>``). The hub then finds the person
in the federation's master patient index (``federation.identity``): their golden record, and the same person's
Patients at other member sites. A Patient the index does not know yet is indexed (and linked) on the spot.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from federation.identity import resident_id
from federation.identity.selectors import person_of
from federation.identity.services import patients_index
from hub.access.referrals import referral_may_name
from hub.api_errors import DomainError, NotFoundError
from hub.referrals.fhir.store import StoredResource, fhir_patients_with_identifier, fhir_read

logger = logging.getLogger(__name__)
_REFERENCE = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")
_IDENTIFIER = re.compile(r"^(?P<system>[^\s|]{1,200})\|(?P<value>[^|]{1,200})$")
# The alliance's short name for the resident ID's system; both are looked up.
RESIDENT_ID_ALIAS = "urn:alliance:resident-id"
ATTACHABLE = {
    "DocumentReference",
    "DiagnosticReport",
    "Observation",
    "ImagingStudy",
    "Media",
    "Composition",
    "Condition",
    "MedicationStatement",
    "Procedure",
    "Encounter",
    "AllergyIntolerance",
}


@dataclass(frozen=True)
class ResolvedPatient:
    reference: str  # the site's Patient, ``Patient/<id>``
    display: str
    identifiers: tuple[dict, ...]
    person: str = ""  # the golden record's id in the master patient index ("" if it could not be indexed)
    patients: tuple[tuple[str, str], ...] = ()  # (site code, ``Patient/<id>``) of the person at every site
    test: bool = False  # labelled as test data (meta.security HTEST)

    @property
    def linked(self) -> tuple[tuple[str, str], ...]:
        """The same person's Patients at the other sites."""
        return tuple((site, ref) for site, ref in self.patients if ref != self.reference)


# http://terminology.hl7.org/CodeSystem/v3-ActReason#HTEST: "test health data", on a record's meta.security.
TEST_DATA_CODE = ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "HTEST")


def is_test_data(resource: dict) -> bool:
    """Whether a record is labelled as test data (its requests are left out of the statistics)."""
    labels = (resource.get("meta") or {}).get("security") or []
    return any(
        isinstance(label, dict) and (label.get("system"), label.get("code")) == TEST_DATA_CODE for label in labels
    )


def _name(patient: dict) -> str:
    for name in patient.get("name") or []:
        if name.get("text"):
            return name["text"]
        joined = (name.get("family") or "") + "".join(name.get("given") or [])
        if joined:
            return joined
    return ""


def _identifiers(name: str) -> list[tuple[str, str]] | None:
    """The (system, value) pairs to look ``system|value`` up by, or None when it is not an identifier."""
    match = _IDENTIFIER.match(name)
    if match is None:
        return None
    system, value = match["system"], match["value"].strip()
    if system in (RESIDENT_ID_ALIAS, resident_id.RESIDENT_ID_SYSTEM):
        value = resident_id.normalize(value)
        return [(resident_id.RESIDENT_ID_SYSTEM, value), (RESIDENT_ID_ALIAS, value)]
    return [(system, value)] if value else None


def _patient_named(*, site_code: str, name: str, shared: set[str] | frozenset[str]) -> tuple[str, StoredResource]:
    """The Patient ``name`` designates among those the site may name: its own (or ``shared``); else 404."""

    def allowed(reference: str, stored: StoredResource | None) -> bool:
        return stored is not None and referral_may_name(
            site_code=site_code, reference=reference, owner=stored.owner, shared=shared
        )

    if _REFERENCE.match(name) and name.startswith("Patient/"):
        stored = fhir_read(reference=name)
        if not allowed(name, stored):
            raise NotFoundError(_("No such patient at your site."))
        return name, stored
    identifiers = _identifiers(name)
    if identifiers is None:
        raise DomainError(
            _("Name the patient as Patient/<id> or by an identifier, e.g. urn:alliance:resident-id|<number>."),
            code="invalid_patient",
        )
    found = {
        f"Patient/{s.resource['id']}": s
        for s in fhir_patients_with_identifier(identifiers=identifiers)
        if allowed(f"Patient/{s.resource['id']}", s)
    }
    if not found:
        raise NotFoundError(_("No such patient at your site."))
    if len(found) > 1:
        raise DomainError(
            _("%(count)d patients have this identifier: name one as Patient/<id>.") % {"count": len(found)},
            code="ambiguous_patient",
        )
    return next(iter(found.items()))


def patient_resolve(
    *, site_code: str, reference: str, shared: set[str] | frozenset[str] = frozenset()
) -> ResolvedPatient:
    """The patient ``reference`` names (``Patient/<id>`` or ``system|value``) and the person they are.

    Only a Patient the site ``site_code`` holds (or one ``shared`` with the requester) can be named; any other
    is 404, whether it exists or not. The person comes from the master patient index, which indexes the
    Patient now if it had not seen it (a Patient the index cannot take still resolves, without a person).
    """
    reference, stored = _patient_named(site_code=site_code, name=(reference or "").strip(), shared=shared)
    patient_id = reference.split("/", 1)[1]
    person = person_of(patient_id=patient_id)
    if person is None and stored.owner:
        try:
            patients_index(site=stored.owner, patients=[stored.resource])  # in a savepoint of its own
        except Exception:  # the request goes on without a person rather than fail on the index
            logger.exception("%s could not be added to the master patient index", reference)
        person = person_of(patient_id=patient_id)
    return ResolvedPatient(
        reference=reference,
        display=_name(stored.resource),
        identifiers=tuple(stored.resource.get("identifier") or []),
        person=person.golden_id if person else "",
        patients=person.patients if person else (),
        test=is_test_data(stored.resource),
    )


def attachments_check(
    *, site_code: str, patient_ref: str, references: list[str], shared: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """The attached records, each an existing record of this patient held by the site (or ``shared``)."""
    checked: list[str] = []
    for reference in references:
        if not isinstance(reference, str) or not _REFERENCE.match(reference):
            raise DomainError(
                _("Attached records are references like DiagnosticReport/123."), code="invalid_attachment"
            )
        if reference.split("/", 1)[0] not in ATTACHABLE:
            raise DomainError(
                _("%(type)s cannot be attached to a request.") % {"type": reference.split("/", 1)[0]},
                code="invalid_attachment",
            )
        stored = fhir_read(reference=reference)
        if stored is None or not referral_may_name(
            site_code=site_code, reference=reference, owner=stored.owner, shared=shared
        ):
            raise NotFoundError(_("No such record at your site: %(ref)s") % {"ref": reference})
        subject = (stored.resource.get("subject") or stored.resource.get("patient") or {}).get("reference")
        if subject and subject != patient_ref:
            raise DomainError(_("%(ref)s is about another patient.") % {"ref": reference}, code="invalid_attachment")
        if reference not in checked:
            checked.append(reference)
    return checked
