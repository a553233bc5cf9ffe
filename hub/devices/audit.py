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
