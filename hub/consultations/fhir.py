"""The room's FHIR records: chat as Communication, files and snapshots as Binary + Media, the session as an
Encounter. Written through ``fhir_gateway.services`` as the hub (validated, indexed, audited), owned by the
requesting site like the referral's own records, so the county keeps them with the patient's record.
"""

from __future__ import annotations

import base64
from contextlib import contextmanager

from fhir_gateway import services
from fhir_gateway.context import INTERNAL_ACTOR
from fhir_gateway.errors import FhirError
from hub.api_errors import DomainError
from hub.consultations.constants import ROOM_SOURCE
from hub.referrals.fhir.resources import user_reference

EVENT_ID_SYSTEM = "urn:alliance-hub:room-event"
ROOM_ID_SYSTEM = "urn:alliance-hub:room"
# http://terminology.hl7.org/CodeSystem/v3-ActCode: VR, a virtual encounter (telehealth).
VIRTUAL = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR", "display": "virtual"}
MEDIA_TYPE = "http://terminology.hl7.org/CodeSystem/media-type"
# Ultrasound as the modality of a snapshot (DICOM CID 29: US).
DICOM_US = {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "US", "display": "Ultrasound"}


@contextmanager
def _refusals_as_domain_errors():
    try:
        yield
    except FhirError as exc:
        status = exc.status if 400 <= exc.status < 500 else 422
        raise DomainError(f"FHIR: {exc.diagnostics}", code="fhir_refused", status_code=status) from exc


def once_criteria(identifier: dict) -> str:
    return f"identifier={identifier['system']}|{identifier['value']}"


def fhir_create_once(*, resource: dict, owner: str, identifier: dict | None = None) -> str:
    """Create ``resource`` (once per ``identifier``: a retried write finds the first); its ``Type/id``."""
    query = once_criteria(identifier) if identifier else None
    if identifier:
        resource = {**resource, "identifier": [identifier, *resource.get("identifier", [])]}
    with _refusals_as_domain_errors():
        result = services.resource_create(
            resource=resource, actor=INTERNAL_ACTOR, source=ROOM_SOURCE, owner=owner, if_none_exist=query
        )
    return f"{resource['resourceType']}/{result.resource['id']}"


def fhir_create_each_once(items: list[tuple[dict, dict, str]]) -> list[str]:
    """``fhir_create_once`` for each ``(resource, identifier, owner)``, in one batch
    (``services.resources_create_once``). A refusal is a ``DomainError`` whose cause carries the refused
    item's ``position``."""
    batch = [
        services.CreateOnce(
            resource={**resource, "identifier": [identifier, *resource.get("identifier", [])]},
            criteria=once_criteria(identifier),
            owner=owner,
        )
        for resource, identifier, owner in items
    ]
    with _refusals_as_domain_errors():
        return services.resources_create_once(items=batch, actor=INTERNAL_ACTOR, source=ROOM_SOURCE)


def fhir_update(*, resource: dict, owner: str) -> dict:
    with _refusals_as_domain_errors():
        return services.resource_update(
            resource_type=resource["resourceType"],
            fhir_id=resource["id"],
            resource=resource,
            actor=INTERNAL_ACTOR,
            source=ROOM_SOURCE,
            owner=owner,
        ).resource


def fhir_read_internal(*, reference: str) -> dict | None:
    resource_type, _sep, fhir_id = reference.partition("/")
    try:
        return services.resource_read(resource_type=resource_type, fhir_id=fhir_id, actor=INTERNAL_ACTOR)
    except FhirError:
        return None


def event_identifier(room, seq: int) -> dict:
    return {"system": EVENT_ID_SYSTEM, "value": f"{room.uid}:{seq}"}


def _based_on(room) -> list[dict]:
    referral = room.referral
    return [{"reference": f"ServiceRequest/{referral.service_request_id}"}] if referral.service_request_id else []


def communication_build(*, room, event, sender, people: list[tuple[int, dict]] | None = None) -> dict:
    """A chat message (http://hl7.org/fhir/R4/communication.html): text, or an attached file or image.
    ``people``: the room's participants as ``(user id, reference)``, when the caller read them already."""
    if people is None:
        people = [(p.user_id, user_reference(p.user)) for p in room.participants.order_by("pk").select_related("user")]
    data = event.data
    payload = []
    if data.get("text"):
        payload.append({"contentString": data["text"]})
    attachment = data.get("attachment")
    if attachment:
        if attachment.get("media"):
            payload.append({"contentReference": {"reference": attachment["media"]}})
        payload.append(
            {
                "contentAttachment": {
                    "contentType": attachment["content_type"],
                    "url": attachment["binary"],
                    "size": attachment["size"],
                    "title": attachment["name"][:200],
                }
            }
        )
    resource = {
        "resourceType": "Communication",
        "status": "completed",
        "category": [{"text": "consultation-room"}],
        "subject": {"reference": room.patient_ref},
        "basedOn": _based_on(room),
        "sent": event.at.isoformat(),
        "sender": user_reference(sender),
        "recipient": [reference for user_id, reference in people if user_id != sender.pk][:50],
        "payload": payload,
    }
    if not resource["recipient"]:
        del resource["recipient"]
    if not resource["basedOn"]:
        del resource["basedOn"]
    return resource


def binary_build(*, content: bytes, content_type: str, room) -> dict:
    return {
        "resourceType": "Binary",
        "contentType": content_type,
        "securityContext": {"reference": room.patient_ref},
        "data": base64.b64encode(content).decode("ascii"),
    }


def media_build(
    *,
    room,
    binary_ref: str,
    content_type: str,
    size: int,
    title: str,
    operator,
    at,
    ultrasound: bool = False,
    width: int | None = None,
    height: int | None = None,
) -> dict:
    """An image shared in the room or a snapshot of the remote ultrasound (http://hl7.org/fhir/R4/media.html)."""
    media = {
        "resourceType": "Media",
        "status": "completed",
        "type": {"coding": [{"system": MEDIA_TYPE, "code": "image", "display": "Image"}]},
        "subject": {"reference": room.patient_ref},
        "basedOn": _based_on(room),
        "createdDateTime": at.isoformat(),
        "issued": at.isoformat(),
        "operator": user_reference(operator),
        "content": {"contentType": content_type, "url": binary_ref, "size": size, "title": title[:200]},
    }
    if ultrasound:
        media["modality"] = {"coding": [DICOM_US], "text": "远程超声"}
    if width and height:
        media["width"], media["height"] = width, height
    if not media["basedOn"]:
        del media["basedOn"]
    return media


def encounter_build(*, room, participants, appointment_id: str = "") -> dict:
    """The session record: a virtual Encounter with its period and everyone who took part."""
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": VIRTUAL,
        "type": [{"text": "远程会诊 / remote consultation"}],
        "subject": {"reference": room.patient_ref},
        "basedOn": _based_on(room),
        "period": {"start": (room.started_at or room.opened_at).isoformat(), "end": room.ended_at.isoformat()},
        "participant": [
            {
                "individual": user_reference(p.user),
                "period": {
                    "start": p.first_joined_at.isoformat(),
                    **({"end": p.last_left_at.isoformat()} if p.last_left_at else {}),
                },
            }
            for p in participants
            if p.first_joined_at
        ],
    }
    if appointment_id:
        encounter["appointment"] = [{"reference": f"Appointment/{appointment_id}"}]
    for key in ("basedOn", "participant"):
        if not encounter[key]:
            del encounter[key]
    return encounter
