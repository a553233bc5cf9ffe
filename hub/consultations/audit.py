"""The room's own reads and shares of patient data go into the audit trail like the FHIR gateway's.

A room shows rows of its own tables (its log, its participants), so entering a room, reading its history
and admitting or removing a participant are reported to the gateway's interaction observers about the
request's ServiceRequest and its patient. Outside a request the rows are written at once (or at commit).
"""

from __future__ import annotations

from fhir_gateway.context import Interaction
from fhir_gateway.interactions import observe
from hub.accounts.fhir import actor_of


def room_audited(*, user, room, action: str, what: str, status: int = 200, **detail) -> None:
    """``action``: ``read`` (the room or its history shown) or ``grant``/``revoke`` (admission, removal)."""
    referral = room.referral
    interaction = Interaction(
        actor=actor_of(user),
        action=action,
        resource_type="ServiceRequest",
        fhir_id=referral.service_request_id,
        detail={"owner": referral.requesting_site.code, "via": "room", "room": room.pk, "what": what, **detail},
    )
    resource = {
        "resourceType": "ServiceRequest",
        "id": referral.service_request_id,
        "subject": {"reference": room.patient_ref},
    }
    observe(interaction, status, resource)
