"""A small alliance record set for hand-written search tests (valid R4, client-chosen ids)."""

from __future__ import annotations

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MRN = "urn:alliance:site:county-a:mrn"


def patient(fhir_id: str, family: str, given: str, *, birth: str = "1968-03-02", gender: str = "female", **extra):
    return {
        "resourceType": "Patient",
        "id": fhir_id,
        "identifier": [
            {
                "system": MRN,
                "value": f"MRN-{fhir_id}",
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
            }
        ],
        "name": [{"family": family, "given": [given]}],
        "gender": gender,
        "birthDate": birth,
        **extra,
    }


def observation(fhir_id: str, subject: str, code: str, value: float, unit: str, *, when: str, **extra):
    return {
        "resourceType": "Observation",
        "id": fhir_id,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code, "display": f"Test {code}"}], "text": f"Lab {code}"},
        "subject": {"reference": subject},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        **extra,
    }


def blood_pressure(fhir_id: str, subject: str, systolic: float, diastolic: float, *, when: str):
    def component(code: str, value: float) -> dict:
        return {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
        }

    return {
        "resourceType": "Observation",
        "id": fhir_id,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": when,
        "component": [component("8480-6", systolic), component("8462-4", diastolic)],
    }


def encounter(fhir_id: str, subject: str, start: str, end: str | None = None, **extra):
    period = {"start": start, **({"end": end} if end else {})}
    return {
        "resourceType": "Encounter",
        "id": fhir_id,
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": subject},
        "period": period,
        **extra,
    }


def condition(fhir_id: str, subject: str, code: str, **extra):
    return {
        "resourceType": "Condition",
        "id": fhir_id,
        "subject": {"reference": subject},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
        **extra,
    }
