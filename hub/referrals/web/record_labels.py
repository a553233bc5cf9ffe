"""Records as clinicians name them: clinical words for FHIR types, common LOINC codes in the page's language,
the value with its unit and the date (the records a requester picks to attach)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

# Clinical words for the FHIR types a request may carry.
TYPE_WORDS = {
    "Observation": _("Result"),
    "DiagnosticReport": _("Report"),
    "ImagingStudy": _("Imaging study"),
    "Media": _("Photo"),
    "DocumentReference": _("Document"),
    "Composition": _("Clinical document"),
    "Condition": _("Diagnosis"),
    "MedicationStatement": _("Medication"),
    "Procedure": _("Procedure"),
    "Encounter": _("Visit"),
    "AllergyIntolerance": _("Allergy"),
}

# Display names of common LOINC codes (vital signs and the pathways' labs).
LOINC_NAMES = {
    "8867-4": _("Heart rate"),
    "8480-6": _("Systolic blood pressure"),
    "8462-4": _("Diastolic blood pressure"),
    "85354-9": _("Blood pressure"),
    "2708-6": _("Oxygen saturation"),
    "59408-5": _("Oxygen saturation"),
    "8310-5": _("Body temperature"),
    "9279-1": _("Respiratory rate"),
    "29463-7": _("Body weight"),
    "8302-2": _("Body height"),
    "10839-9": _("Troponin I"),
    "6598-7": _("Troponin T"),
    "89579-7": _("Troponin I (high-sensitivity)"),
    "67151-1": _("Troponin T (high-sensitivity)"),
    "13969-1": _("CK-MB"),
    "2345-7": _("Glucose"),
    "2339-0": _("Glucose"),
    "6301-6": _("INR"),
    "34714-6": _("INR"),
    "718-7": _("Haemoglobin"),
    "777-3": _("Platelets"),
    "6690-2": _("White blood cells"),
    "2160-0": _("Creatinine"),
    "2823-3": _("Potassium"),
    "2951-2": _("Sodium"),
    "33762-6": _("NT-proBNP"),
    "48065-7": _("D-dimer"),
    "11524-6": _("ECG"),
    "34534-8": _("12-lead ECG"),
    "24627-2": _("Chest CT"),
    "30799-1": _("Head CT"),
    "1558-6": _("Fasting glucose"),
    "4548-4": _("HbA1c"),
    "3016-3": _("TSH"),
    "2093-3": _("Cholesterol"),
    "2571-8": _("Triglycerides"),
    "13457-7": _("LDL cholesterol"),
    "2085-9": _("HDL cholesterol"),
    "1742-6": _("ALT"),
    "1920-8": _("AST"),
    "3094-0": _("Urea nitrogen"),
    "5902-2": _("Prothrombin time"),
    "3173-2": _("APTT"),
    "3255-7": _("Fibrinogen"),
}
ENCOUNTER_CLASSES = {"AMB": _("Outpatient visit"), "EMER": _("Emergency visit"), "IMP": _("Inpatient stay")}
# UCUM units as people write them.
UNITS = {"mm[Hg]": "mmHg", "/min": "/min", "Cel": "°C", "[iU]/L": "IU/L", "{INR}": ""}


@dataclass(frozen=True)
class RecordLabel:
    kind: str  # clinical word for the type
    what: str
    value: str
    when: str

    def __str__(self) -> str:
        return " · ".join(str(part) for part in (self.kind, self.what, self.value, self.when) if part)


def _codes(resource: dict) -> dict:
    code = resource.get("code") or resource.get("type") or {}
    if isinstance(code, list):
        code = code[0] if code else {}
    return code if isinstance(code, dict) else {}


def _what(resource: dict) -> str:
    code = _codes(resource)
    for coding in code.get("coding") or []:
        if coding.get("system") == "http://loinc.org" and coding.get("code") in LOINC_NAMES:
            return str(LOINC_NAMES[coding["code"]])
    if resource.get("resourceType") == "Encounter":
        klass = (resource.get("class") or {}).get("code", "")
        if klass in ENCOUNTER_CLASSES:
            return str(ENCOUNTER_CLASSES[klass])
    if resource.get("resourceType") in ("Media", "DocumentReference"):
        content = resource.get("content")
        attachment = (content[0].get("attachment") if isinstance(content, list) and content else content) or {}
        if attachment.get("title"):
            return attachment["title"]
    medication = (resource.get("medicationCodeableConcept") or {}).get("text") or next(
        (c.get("display") for c in (resource.get("medicationCodeableConcept") or {}).get("coding") or []), ""
    )
    text = code.get("text") or next((c.get("display") for c in code.get("coding") or [] if c.get("display")), "")
    return text or medication or (resource.get("conclusion") or resource.get("description") or "")[:60]


def _number(value) -> str:
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except (InvalidOperation, ValueError):
        return str(value)


def _value(resource: dict) -> str:
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict) and "value" in quantity:
        unit = quantity.get("unit") or quantity.get("code") or ""
        unit = UNITS.get(unit, unit)
        return f"{_number(quantity['value'])} {unit}".strip()
    parts = []
    for component in resource.get("component") or []:
        q = component.get("valueQuantity") or {}
        if "value" in q:
            parts.append(_number(q["value"]))
    if parts:
        unit = ((resource.get("component") or [{}])[0].get("valueQuantity") or {}).get("unit", "")
        return f"{'/'.join(parts)} {UNITS.get(unit, unit)}".strip()
    if resource.get("valueString"):
        return str(resource["valueString"])[:40]
    return ""


def _when(resource: dict) -> str:
    period = resource.get("period") or resource.get("effectivePeriod") or {}
    value = (
        resource.get("effectiveDateTime")
        or resource.get("issued")
        or resource.get("createdDateTime")
        or resource.get("date")
        or resource.get("recordedDate")
        or resource.get("onsetDateTime")
        or resource.get("started")
        or resource.get("performedDateTime")
        or period.get("start")
        or ""
    )
    return value[:16].replace("T", " ")


def record_label(resource: dict) -> RecordLabel:
    kind = TYPE_WORDS.get(resource.get("resourceType", ""), resource.get("resourceType", ""))
    return RecordLabel(kind=str(kind), what=_what(resource), value=_value(resource), when=_when(resource))
