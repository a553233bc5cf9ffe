"""Builders of the FHIR R4 resources that carry a referral: ServiceRequest, Task, Consent, Appointment.

Users of the hub have no Practitioner resources yet, so people are referenced logically by
identifier (http://hl7.org/fhir/R4/references.html#logical).
"""

from __future__ import annotations

from hub.referrals.constants import (
    FHIR_PRIORITY,
    PERSON_EXTENSION_URL,
    PERSON_ID_SYSTEM,
    REFERRAL_ID_SYSTEM,
    USER_ID_SYSTEM,
    ConsentState,
    ReferralKind,
    TaskStatus,
)

SNOMED = "http://snomed.info/sct"
# ServiceRequest.status for each Task state (http://hl7.org/fhir/R4/valueset-request-status.html).
REQUEST_STATUS = {
    TaskStatus.DRAFT: "draft",
    TaskStatus.ON_HOLD: "on-hold",
    TaskStatus.COMPLETED: "completed",
    TaskStatus.CANCELLED: "revoked",
    TaskStatus.REJECTED: "revoked",
    TaskStatus.FAILED: "revoked",
}
KIND_CATEGORY = {
    ReferralKind.UP: ("3457005", "Patient referral", "上转"),
    ReferralKind.DOWN: ("3457005", "Patient referral", "下转"),
    ReferralKind.CONSULTATION: ("11429006", "Consultation", "远程会诊"),
    ReferralKind.DIAGNOSIS: ("11429006", "Consultation", "远程诊断"),
}


def ref(resource_type: str, fhir_id: str) -> str:
    """``Type/id``, or the ``urn:uuid:`` placeholder of a resource written in the same transaction Bundle."""
    return fhir_id if fhir_id.startswith("urn:uuid:") else f"{resource_type}/{fhir_id}"


def user_reference(user) -> dict:
    return user_reference_of(username=user.username, display_name=user.display_name)


def user_reference_of(*, username: str, display_name: str) -> dict:
    return {
        "type": "Practitioner",
        "identifier": {"system": USER_ID_SYSTEM, "value": username},
        "display": display_name or username,
    }


def _site_reference(site) -> dict:
    return {
        "type": "Organization",
        "identifier": {"system": "urn:alliance-hub:site", "value": site.code},
        "display": site.name,
    }


def _identifier(referral) -> list[dict]:
    return [{"system": REFERRAL_ID_SYSTEM, "value": str(referral.uid)}]


def _text(value: str) -> dict:
    return {"text": value}


def _person_add(resource: dict, referral) -> dict:
    """The subject stays the site's Patient; the person (MPI golden record) it is rides along as an extension."""
    if referral.person_uid:
        resource["extension"] = [
            {
                "url": PERSON_EXTENSION_URL,
                "valueIdentifier": {"system": PERSON_ID_SYSTEM, "value": referral.person_uid},
            }
        ]
    return resource


def service_request_build(referral) -> dict:
    code, display, text = KIND_CATEGORY[referral.kind]
    resource = {
        "resourceType": "ServiceRequest",
        "identifier": _identifier(referral),
        "status": REQUEST_STATUS.get(referral.status, "active"),
        "intent": "order",
        "category": [{"coding": [{"system": SNOMED, "code": code, "display": display}], "text": text}],
        "priority": FHIR_PRIORITY[referral.urgency],
        "code": _text(referral.get_kind_display()),
        "subject": {"reference": referral.patient_ref, "display": referral.patient_display},
        "authoredOn": referral.created_at.isoformat(),
        "requester": user_reference(referral.requester),
        "reasonCode": [_text(referral.reason or referral.clinical_question)],
        "note": [{"text": referral.clinical_question}],
    }
    if referral.target_specialty:
        resource["performerType"] = _text(referral.get_target_specialty_display())
    if referral.named_expert_id:
        resource["performer"] = [user_reference(referral.named_expert)]
    if referral.attachments:
        resource["supportingInfo"] = [{"reference": ref} for ref in referral.attachments]
    if referral.consent_id:
        resource["supportingInfo"] = [
            *resource.get("supportingInfo", []),
            {"reference": ref("Consent", referral.consent_id)},
        ]
    if referral.service_request_id:
        resource["id"] = referral.service_request_id
    return _person_add(resource, referral)


def task_build(referral, *, reason: str = "", outputs: list[str] | None = None) -> dict:
    """The Task carrying the workflow state (http://hl7.org/fhir/R4/workflow-management.html)."""
    resource = {
        "resourceType": "Task",
        "identifier": _identifier(referral),
        "basedOn": [{"reference": ref("ServiceRequest", referral.service_request_id)}],
        "status": referral.status,
        "intent": "order",
        "priority": FHIR_PRIORITY[referral.urgency],
        "code": {
            "coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}],
            "text": referral.get_kind_display(),
        },
        "focus": {"reference": ref("ServiceRequest", referral.service_request_id)},
        "for": {"reference": referral.patient_ref, "display": referral.patient_display},
        "authoredOn": referral.created_at.isoformat(),
        "lastModified": (
            referral.closed_at or referral.accepted_at or referral.submitted_at or referral.created_at
        ).isoformat(),
        "requester": user_reference(referral.requester),
        "location": None,
    }
    resource.pop("location")
    if referral.business_status:
        resource["businessStatus"] = {"text": referral.business_status}
    if reason:
        resource["statusReason"] = _text(reason)
    if referral.owner_id:
        resource["owner"] = user_reference(referral.owner)
    elif referral.target_department_id:
        resource["performerType"] = [_text(referral.target_department.name)]
    if referral.sla_due_at and referral.status in (TaskStatus.REQUESTED, TaskStatus.RECEIVED):
        resource["restriction"] = {"period": {"end": referral.sla_due_at.isoformat()}}
    if outputs:
        resource["output"] = [{"type": _text("opinion"), "valueReference": {"reference": ref}} for ref in outputs]
    if referral.task_id:
        resource["id"] = referral.task_id
    return _person_add(resource, referral)


def consent_build(referral, *, method: str, given_by: str, date) -> dict:
    deferred = referral.consent_state == ConsentState.DEFERRED
    return {
        "resourceType": "Consent",
        "identifier": _identifier(referral),
        # A deferred emergency consent stays "proposed" until the patient or family can give it.
        "status": "proposed" if deferred else "active",
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}], "text": "知情同意"}],
        "patient": {"reference": referral.patient_ref},
        "dateTime": date.isoformat(),
        "organization": [_site_reference(referral.requesting_site)],
        "policyRule": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}],
            "text": "deferred: emergency" if deferred else f"{method}; given by {given_by}",
        },
        "provision": {
            "type": "permit",
            "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}],
        },
    }


def appointment_build(appointment, *, people) -> dict:
    referral = appointment.referral
    participants = [{"actor": {"reference": referral.patient_ref}, "status": "accepted"}]
    participants += [{"actor": user_reference(person), "status": "accepted"} for person in people]
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "description": referral.clinical_question[:200],
        "start": appointment.starts_at.isoformat(),
        "end": appointment.ends_at.isoformat(),
        "basedOn": [{"reference": ref("ServiceRequest", referral.service_request_id)}],
        "participant": participants,
    }


def discharge_summary_build(*, referral, text: str, author) -> dict:
    """The discharge summary a down-referral carries (a Composition, LOINC 18842-5)."""
    from hub.referrals.fhir.opinion import narrative

    return {
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary"}]},
        "subject": {"reference": referral.patient_ref},
        "date": referral.created_at.isoformat(),
        "author": [user_reference(author)],
        "title": "出院小结",
        "section": [{"title": "出院小结", "text": narrative(text)}],
    }
