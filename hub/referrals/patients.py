"""Finding the patient and the records a request refers to.

Until the federation's master patient index has an API, a patient is the Patient resource in the
gateway owned by the requester's site; ``patient_resolve`` is the only function that would change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from hub.api_errors import DomainError, NotFoundError
from hub.referrals.fhir.store import fhir_read

_REFERENCE = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")
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
    reference: str
    display: str
    identifiers: tuple[dict, ...]


def _name(patient: dict) -> str:
    for name in patient.get("name") or []:
        if name.get("text"):
            return name["text"]
        joined = (name.get("family") or "") + "".join(name.get("given") or [])
        if joined:
            return joined
    return ""


def patient_resolve(
    *, site_code: str, reference: str, shared: set[str] | frozenset[str] = frozenset()
) -> ResolvedPatient:
    """The patient ``reference`` names, if the site ``site_code`` holds them (or they are ``shared``); else 404."""
    if not _REFERENCE.match(reference or "") or not reference.startswith("Patient/"):
        raise DomainError(_("The patient must be a reference like Patient/123."), code="invalid_patient")
    stored = fhir_read(reference=reference)
    if stored is None or (stored.owner != site_code and reference not in shared):
        raise NotFoundError(_("No such patient at your site."))
    return ResolvedPatient(
        reference=reference, display=_name(stored.resource), identifiers=tuple(stored.resource.get("identifier") or [])
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
        if stored is None or (stored.owner != site_code and reference not in shared):
            raise NotFoundError(_("No such record at your site: %(ref)s") % {"ref": reference})
        subject = (stored.resource.get("subject") or stored.resource.get("patient") or {}).get("reference")
        if subject and subject != patient_ref:
            raise DomainError(_("%(ref)s is about another patient.") % {"ref": reference}, code="invalid_attachment")
        if reference not in checked:
            checked.append(reference)
    return checked
