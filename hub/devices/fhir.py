"""The device path's FHIR resources: Device, Location, DeviceUseStatement, vital-signs Observations (numerics,
valueSampledData waves), Flag and DetectedIssue for alarms. Builders are pure; ``fhir_store`` writes one.

Numerics follow the vital-signs profile (https://hl7.org/fhir/R4/observation-vitalsigns.html): the LOINC code
first, the device's MDC code second, UCUM units, the device and the patient.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hub.devices.constants import (
    BP_PANEL,
    BY_KEY,
    INTERPRETATION,
    LOINC,
    MDC,
    OBSERVATION_CATEGORY,
    UCUM,
    VITAL_SIGNS_PROFILE,
    Parameter,
)

DEVICE_TYPE = {"monitor": ("69986-1", "Patient monitor"), "ventilator": ("706172005", "Ventilator")}


def fhir_store(*, resource: dict, owner: str, fhir_id: str = "") -> str:
    """Write ``resource`` as the hub's workflow for ``owner`` (a site code); answer its id."""
    from fhir_gateway import services
    from fhir_gateway.context import INTERNAL, INTERNAL_ACTOR, Actor

    actor = Actor(kind=INTERNAL, id=INTERNAL_ACTOR.id, display=INTERNAL_ACTOR.display, site=owner)
    if fhir_id:
        result = services.resource_update(
            resource_type=resource["resourceType"], fhir_id=fhir_id, resource={**resource, "id": fhir_id}, actor=actor
        )
    else:
        result = services.resource_create(resource=resource, actor=actor, owner=owner)
    return result.resource["id"]


def _time(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def location_resource(device) -> dict:
    name = " ".join(x for x in (device.ward, device.bed) if x) or device.key
    return {
        "resourceType": "Location",
        "status": "active",
        "name": name,
        "physicalType": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/location-physical-type",
                    "code": "bd" if device.bed else "wa",
                }
            ]
        },
        "identifier": [{"system": f"urn:alliance:site:{device.site.code}:location", "value": name}],
    }


def device_resource(device) -> dict:
    resource = {
        "resourceType": "Device",
        "identifier": [{"system": f"urn:alliance:site:{device.site.code}:device", "value": device.key}],
        "status": "active" if device.active else "inactive",
        "type": {
            "coding": [
                {
                    "system": LOINC if device.kind == "monitor" else "http://snomed.info/sct",
                    "code": DEVICE_TYPE[device.kind][0],
                    "display": DEVICE_TYPE[device.kind][1],
                }
            ]
        },
    }
    if device.manufacturer:
        resource["manufacturer"] = device.manufacturer
    if device.model_name:
        resource["modelNumber"] = device.model_name
    if device.serial:
        resource["serialNumber"] = device.serial
    if device.location_fhir_id:
        resource["location"] = {"reference": f"Location/{device.location_fhir_id}"}
    return resource


def use_statement_resource(binding) -> dict:
    period = {"start": _time(binding.start)}
    if binding.end:
        period["end"] = _time(binding.end)
    return {
        "resourceType": "DeviceUseStatement",
        "status": "completed" if binding.end else "active",
        "subject": {"reference": binding.patient_ref},
        "device": {"reference": f"Device/{binding.device.fhir_id}"},
        "timingPeriod": period,
    }


def _code(parameter: Parameter) -> dict:
    coding = []
    if parameter.loinc:
        coding.append({"system": LOINC, "code": parameter.loinc, "display": parameter.loinc_display})
    coding.append({"system": MDC, "code": parameter.mdc, "display": parameter.mdc_ref})
    return {"coding": coding, "text": str(parameter.label)}


def _observation(*, patient_ref: str, device_fhir_id: str, at: datetime, code: dict, vital: bool) -> dict:
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
        "code": code,
        "subject": {"reference": patient_ref},
        "effectiveDateTime": _time(at),
    }
    if vital:
        resource["meta"] = {"profile": [VITAL_SIGNS_PROFILE]}
    if device_fhir_id:
        resource["device"] = {"reference": f"Device/{device_fhir_id}"}
    return resource


def _quantity(parameter: Parameter, value: float) -> dict:
    return {"value": value, "unit": parameter.ucum, "system": UCUM, "code": parameter.ucum}


def numeric_observation(
    *, parameter: Parameter, value: float, patient_ref: str, device_fhir_id: str, at: datetime, interpretation: str = ""
) -> dict:
    """One numeric as a vital-signs Observation (the blood pressure as its panel: ``bp_observation``)."""
    resource = _observation(
        patient_ref=patient_ref,
        device_fhir_id=device_fhir_id,
        at=at,
        code=_code(parameter),
        vital=bool(parameter.loinc),
    )
    resource["valueQuantity"] = _quantity(parameter, value)
    if interpretation:
        resource["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": interpretation}]}]
    return resource


def bp_observation(*, values: dict[str, float], patient_ref: str, device_fhir_id: str, at: datetime) -> dict:
    """Systolic and diastolic (and mean) as the blood pressure panel 85354-9 with its components."""
    code = {"coding": [{"system": LOINC, "code": BP_PANEL[0], "display": BP_PANEL[1]}], "text": "Blood pressure"}
    resource = _observation(patient_ref=patient_ref, device_fhir_id=device_fhir_id, at=at, code=code, vital=True)
    resource["component"] = [
        {"code": _code(BY_KEY[key]), "valueQuantity": _quantity(BY_KEY[key], values[key])}
        for key in ("sys", "dia", "map")
        if key in values
    ]
    return resource


def wave_observation(
    *, parameter: Parameter, samples: list[float], rate: float, patient_ref: str, device_fhir_id: str, at: datetime
) -> dict:
    """Seconds of a wave as ``valueSampledData`` (period in ms between samples); ``effectivePeriod``: from the
    first sample to the end of the last."""
    resource = _observation(
        patient_ref=patient_ref, device_fhir_id=device_fhir_id, at=at, code=_code(parameter), vital=False
    )
    del resource["effectiveDateTime"]
    resource["effectivePeriod"] = {"start": _time(at), "end": _time(at + timedelta(seconds=len(samples) / rate))}
    resource["valueSampledData"] = {
        "origin": {"value": 0, "unit": parameter.ucum, "system": UCUM, "code": parameter.ucum},
        "period": round(1000.0 / rate, 6),
        "dimensions": 1,
        "data": " ".join(_sample(x) for x in samples),
    }
    return resource


def _sample(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def flag_resource(*, alarm, device_fhir_id: str, active: bool) -> dict:
    period = {"start": _time(alarm.raised_at)}
    if not active and alarm.acknowledged_at:
        period["end"] = _time(alarm.acknowledged_at)
    resource = {
        "resourceType": "Flag",
        "status": "active" if active else "inactive",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "clinical"}]}
        ],
        "code": {"text": f"[{alarm.priority}] {alarm.message}"},
        "subject": {"reference": alarm.patient_ref},
        "period": period,
    }
    if device_fhir_id:
        resource["author"] = {"reference": f"Device/{device_fhir_id}"}
    return resource


def acknowledgement_resource(*, alarm, practitioner_display: str) -> dict:
    """The acknowledgement of an alarm as a DetectedIssue with its mitigation."""
    implicated = [{"reference": f"Flag/{alarm.flag_id}"}] if alarm.flag_id else []
    if alarm.observation_id:
        implicated.append({"reference": f"Observation/{alarm.observation_id}"})
    resource = {
        "resourceType": "DetectedIssue",
        "status": "final",
        "severity": "high" if alarm.priority == "high" else "moderate",
        "code": {"text": alarm.message},
        "patient": {"reference": alarm.patient_ref},
        "identifiedDateTime": _time(alarm.raised_at),
        "mitigation": [
            {
                "action": {"text": f"Acknowledged by {practitioner_display}"},
                "date": _time(alarm.acknowledged_at),
            }
        ],
    }
    if implicated:
        resource["implicated"] = implicated
    return resource
