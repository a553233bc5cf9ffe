"""Numerics as vital-signs Observations (LOINC first, the MDC code second, UCUM), the blood pressure panel,
waves as valueSampledData; all valid FHIR R4 as the gateway checks it."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.devices import fhir
from hub.devices.constants import BY_CODE, BY_KEY, LOINC, MDC, UCUM

AT = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)


def test_heart_rate_is_a_vital_signs_observation_with_loinc_and_mdc():
    observation = fhir.numeric_observation(
        parameter=BY_CODE["147842"], value=72, patient_ref="Patient/p1", device_fhir_id="d1", at=AT
    )
    assert observation["code"]["coding"][0] == {"system": LOINC, "code": "8867-4", "display": "Heart rate"}
    assert observation["code"]["coding"][1]["system"] == MDC and observation["code"]["coding"][1]["code"] == "147842"
    assert observation["valueQuantity"] == {"value": 72, "unit": "/min", "system": UCUM, "code": "/min"}
    assert observation["category"][0]["coding"][0]["code"] == "vital-signs"
    assert observation["device"] == {"reference": "Device/d1"} and observation["subject"] == {"reference": "Patient/p1"}
    assert observation["effectiveDateTime"] == "2026-12-03T14:00:00Z"


def test_codes_are_found_by_mdc_code_reference_id_or_loinc():
    assert BY_CODE["150456"] is BY_CODE["MDC_PULS_OXIM_SAT_O2"] is BY_CODE["59408-5"] is BY_KEY["spo2"]
    assert BY_KEY["spo2"].loinc == "59408-5" and BY_KEY["rr"].loinc == "9279-1" and BY_KEY["temp"].loinc == "8310-5"


def test_blood_pressure_is_the_panel_with_systolic_and_diastolic_components():
    panel = fhir.bp_observation(values={"sys": 128, "dia": 82}, patient_ref="Patient/p1", device_fhir_id="d1", at=AT)
    assert panel["code"]["coding"][0]["code"] == "85354-9"
    codes = [c["code"]["coding"][0]["code"] for c in panel["component"]]
    assert codes == ["8480-6", "8462-4"]
    assert panel["component"][0]["valueQuantity"]["code"] == "mm[Hg]"


def test_a_wave_chunk_is_sampled_data_with_its_period():
    observation = fhir.wave_observation(
        parameter=BY_KEY["ecg2"],
        samples=[0.1, -0.25, 1.0],
        rate=250,
        patient_ref="Patient/p1",
        device_fhir_id="",
        at=AT,
    )
    sampled = observation["valueSampledData"]
    assert sampled["period"] == 4.0 and sampled["dimensions"] == 1 and sampled["data"] == "0.1 -0.25 1"
    assert observation["code"]["coding"] == [{"system": MDC, "code": "131330", "display": "MDC_ECG_ELEC_POTL_II"}]


def test_the_resources_are_valid_fhir(db):
    from fhir_gateway import services
    from fhir_gateway.context import INTERNAL_ACTOR

    for resource in (
        fhir.numeric_observation(parameter=BY_KEY["hr"], value=72, patient_ref="Patient/p1", device_fhir_id="d", at=AT),
        fhir.bp_observation(values={"sys": 128, "dia": 82}, patient_ref="Patient/p1", device_fhir_id="d", at=AT),
        fhir.wave_observation(
            parameter=BY_KEY["pleth"], samples=[1.0, 2.0], rate=100, patient_ref="Patient/p1", device_fhir_id="d", at=AT
        ),
    ):
        outcome = services.resource_validate(resource=resource, resource_type="Observation", actor=INTERNAL_ACTOR)
        errors = [i for i in outcome.get("issue", []) if i.get("severity") in ("error", "fatal")]
        assert not errors, errors
