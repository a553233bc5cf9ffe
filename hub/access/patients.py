"""May this user read this patient's records? One answer for every entry point: the FHIR gateway's own.

``patient_visible`` asks the user's ``Visibility`` (``hub.access.rules``) about the stored Patient, exactly as
the gateway asks it before a read; so a page, an API, a websocket or a consultation room that checks here
agrees with what ``/fhir`` answers the same user.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from fhir_gateway.public import stored_visible
from hub.access.actors import rule_of_user
from hub.access.constants import ActorKind
from hub.api_errors import NotFoundError

CLINICAL_KINDS = (ActorKind.COUNTY_DOCTOR, ActorKind.SPECIALIST)


def patient_visible(user, patient_ref: str) -> bool:
    """Own site's patient (clinicians and site admins), shared by a request or an open grant; never officials."""
    resource_type, _sep, fhir_id = (patient_ref or "").partition("/")
    if resource_type != "Patient" or not fhir_id:
        return False
    rule = rule_of_user(user)
    if rule.kind not in (*CLINICAL_KINDS, ActorKind.SITE_ADMIN, ActorKind.SUPERUSER):
        return False
    return stored_visible(visibility=rule.visibility(), resource_type="Patient", fhir_id=fhir_id)


def patient_check(user, patient_ref: str) -> None:
    """``patient_visible`` or ``NotFoundError``: the same answer whether the patient is missing or not yours."""
    if not patient_visible(user, patient_ref):
        raise NotFoundError(_("No such patient."))
