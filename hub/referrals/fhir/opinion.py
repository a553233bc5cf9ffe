"""The signed opinion as FHIR: a Composition with a legal attester, and a Provenance carrying the signature."""

from __future__ import annotations

import base64
import html

from hub.referrals.constants import OPINION_ID_SYSTEM
from hub.referrals.fhir.resources import user_reference

# LOINC document types: consult note, and ECG / imaging reports for remote diagnosis.
DOCUMENT_TYPE = {
    "": ("11488-4", "Consult note"),
    "ecg": ("11524-6", "EKG study"),
    "imaging": ("18748-4", "Diagnostic imaging study"),
    "ultrasound": ("18748-4", "Diagnostic imaging study"),
}
AUTHOR_SIGNATURE = {
    "system": "urn:iso-astm:E1762-95:2013",
    "code": "1.2.840.10065.1.12.1.1",
    "display": "Author's Signature",
}


def narrative(text: str) -> dict:
    body = "<br/>".join(html.escape(line) for line in text.splitlines()) or html.escape(text)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def composition_build(opinion, *, appends_ref: str | None = None) -> dict:
    referral = opinion.referral
    code, display = DOCUMENT_TYPE[referral.study_kind or ""]
    sections = [{"title": "会诊意见 Conclusion", "text": narrative(opinion.conclusion)}]
    if opinion.recommendations:
        sections.append({"title": "建议 Recommendations", "text": narrative(opinion.recommendations)})
    resource = {
        "resourceType": "Composition",
        "identifier": {"system": OPINION_ID_SYSTEM, "value": str(opinion.uid)},
        "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]},
        "subject": {"reference": referral.patient_ref, "display": referral.patient_display},
        "date": opinion.signed_at.isoformat(),
        "author": [user_reference(opinion.author)],
        "title": opinion.title,
        "confidentiality": "N",
        "attester": [{"mode": "legal", "time": opinion.signed_at.isoformat(), "party": user_reference(opinion.author)}],
        "custodian": {"display": referral.target_site.name},
        "event": [{"detail": [{"reference": f"ServiceRequest/{referral.service_request_id}"}]}],
        "section": sections,
    }
    if appends_ref:
        resource["relatesTo"] = [{"code": "appends", "targetReference": {"reference": appends_ref}}]
    return resource


def provenance_build(opinion, *, target_ref: str) -> dict:
    who = user_reference(opinion.author)
    return {
        "resourceType": "Provenance",
        "target": [{"reference": target_ref}],
        "recorded": opinion.signed_at.isoformat(),
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "author",
                        }
                    ]
                },
                "who": who,
            }
        ],
        "signature": [
            {
                "type": [AUTHOR_SIGNATURE],
                "when": opinion.signed_at.isoformat(),
                "who": who,
                "targetFormat": "application/fhir+json",
                "data": base64.b64encode(opinion.signature.encode()).decode(),
            }
        ],
    }
