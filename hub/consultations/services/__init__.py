"""Every write of the consultation room (import from here)."""

from hub.consultations.services.log import (
    annotation_add,
    attachment_post,
    communications_flush,
    decision_record,
    event_append,
    message_post,
    pending_fhir_store,
    record_present,
    snapshot_store,
)
from hub.consultations.services.presence import (
    connection_drop,
    connection_join,
    connection_leave,
    connection_seen,
    connection_update,
    presence_sweep,
)
from hub.consultations.services.rooms import (
    participant_admit,
    participant_invite,
    participant_remove,
    room_end,
    room_end_for_referral,
    room_enter,
    room_open,
    room_open_for_referral,
)

__all__ = [
    "annotation_add",
    "attachment_post",
    "communications_flush",
    "connection_drop",
    "connection_join",
    "connection_leave",
    "connection_seen",
    "connection_update",
    "decision_record",
    "event_append",
    "message_post",
    "participant_admit",
    "participant_invite",
    "participant_remove",
    "pending_fhir_store",
    "presence_sweep",
    "record_present",
    "room_end",
    "room_end_for_referral",
    "room_enter",
    "room_open",
    "room_open_for_referral",
    "snapshot_store",
]
