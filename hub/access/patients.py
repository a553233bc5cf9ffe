"""May this user read this patient's records? One answer for every entry point."""

from __future__ import annotations

from django.utils.translation import gettext as _

from hub.accounts.constants import Role
from hub.api_errors import NotFoundError

CLINICAL_ROLES = (Role.COUNTY_DOCTOR, Role.SPECIALIST)


def _owner_of_patient(patient_ref: str) -> str | None:
    from fhir_gateway.models import Resource

    resource_type, _sep, fhir_id = patient_ref.partition("/")
    if resource_type != "Patient" or not fhir_id:
        return None
    return (
        Resource.objects.filter(resource_type="Patient", fhir_id=fhir_id, deleted=False)
        .values_list("owner", flat=True)
        .first()
    )


def patient_visible(user, patient_ref: str) -> bool:
    """Own site's patient (clinicians and site admins), shared by a request or an open grant; never officials."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return _owner_of_patient(patient_ref) is not None
    if user.role not in (*CLINICAL_ROLES, Role.SITE_ADMIN) or not user.site_id:
        return False
    owner = _owner_of_patient(patient_ref)
    if owner is None:
        return False
    if owner == user.site.code:
        return True
    if user.role not in CLINICAL_ROLES:
        return False
    from hub.access.grants import patient_refs_granted
    from hub.audit.access import shared_patient_refs

    return patient_ref in patient_refs_granted(user) or patient_ref in shared_patient_refs(user)


def patient_check(user, patient_ref: str) -> None:
    """``patient_visible`` or ``NotFoundError``: the same answer whether the patient is missing or not yours."""
    if not patient_visible(user, patient_ref):
        raise NotFoundError(_("No such patient."))
