"""Opening a patient's live device data goes into the audit trail like a read of their records."""

from __future__ import annotations

from fhir_gateway.context import Interaction
from fhir_gateway.interactions import observe
from hub.accounts.fhir import actor_of


def live_audited(*, user, patient_ref: str, via: str, status: int = 200) -> None:
    """``via``: the live websocket, the API, a page."""
    interaction = Interaction(
        actor=actor_of(user),
        action="read",
        resource_type="Patient",
        fhir_id=patient_ref.partition("/")[2],
        detail={"via": f"devices-{via}", "what": "live device data"},
    )
    observe(interaction, status, {"resourceType": "Patient", "id": patient_ref.partition("/")[2]})


def limits_audited(*, user, patient_ref: str, status: int, **detail) -> None:
    """A change of the patient's alarm limits (``detail``: the parameter, low, high), or its refusal."""
    fhir_id = patient_ref.partition("/")[2]
    interaction = Interaction(
        actor=actor_of(user),
        action="operation",
        resource_type="Patient",
        fhir_id=fhir_id,
        operation="devices-alarm-limits",
        detail={"via": "devices", "what": "alarm limits", **detail},
    )
    observe(interaction, status, {"resourceType": "Patient", "id": fhir_id})
