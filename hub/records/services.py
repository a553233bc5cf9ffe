"""Writes of the records app: revealing a patient's identifiers, which the audit trail records like a read."""

from __future__ import annotations

from django.utils.translation import gettext as _

from fhir_gateway import services as fhir
from fhir_gateway.context import Interaction
from fhir_gateway.errors import FhirError
from fhir_gateway.interactions import observe
from fhir_gateway.public import owner_of
from hub.access.patients import patient_visible
from hub.accounts.fhir import actor_of
from hub.api_errors import NotFoundError
from hub.records.masking import patient_identifiers

REVEAL_OPERATION = "$reveal-identifiers"


def identifiers_reveal(*, user, patient_ref: str) -> list[dict]:
    """The patient's identifiers in full (``{key, kind, value}``), for a user who may see the patient; recorded in
    the audit trail as the operation ``$reveal-identifiers`` on the Patient. Anyone else: ``NotFoundError``."""
    resource_type, _sep, fhir_id = (patient_ref or "").partition("/")
    if resource_type != "Patient" or not fhir_id or not patient_visible(user, patient_ref):
        raise NotFoundError(_("No such patient."))
    actor = actor_of(user)
    try:
        patient = fhir.resource_read(resource_type="Patient", fhir_id=fhir_id, actor=actor)
    except FhirError:
        raise NotFoundError(_("No such patient.")) from None
    interaction = Interaction(
        actor=actor,
        action="operation",
        resource_type="Patient",
        fhir_id=fhir_id,
        operation=REVEAL_OPERATION,
        detail={"owner": owner_of(resource_type="Patient", fhir_id=fhir_id) or "", "via": "web"},
    )
    observe(interaction, 200, {"resourceType": "Patient", "id": fhir_id})
    return [{"key": row["key"], "kind": row["kind"], "value": row["full"]} for row in patient_identifiers(patient)]
