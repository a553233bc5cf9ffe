"""What the hub understands from bedside devices: parameters with their IEEE 11073 MDC and LOINC codes, UCUM
units, plausible ranges and default alarm limits by age group.

MDC codes: ISO/IEEE 11073-10101 (system ``urn:iso:std:iso:11073:10101``), as the HL7 Point-of-Care Device IG
uses them (https://build.fhir.org/ig/HL7/uv-pocd/). LOINC codes: the FHIR vital-signs profile
(https://hl7.org/fhir/R4/observation-vitalsigns.html).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

MDC = "urn:iso:std:iso:11073:10101"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")


@dataclass(frozen=True)
class Parameter:
    """One numeric or wave a device sends."""

    key: str
    label: str
    mdc: str  # numeric MDC code
    mdc_ref: str  # its reference id (MDC_...)
    ucum: str
    low: float  # outside [low, high]: impossible, the message is refused
    high: float
    loinc: str = ""
    loinc_display: str = ""
    wave: bool = False


PARAMETERS: tuple[Parameter, ...] = (
    Parameter("hr", _("Heart rate"), "147842", "MDC_ECG_HEART_RATE", "/min", 0, 350, "8867-4", "Heart rate"),
    Parameter(
        "pr",
        _("Pulse rate"),
        "149530",
        "MDC_PULS_OXIM_PULS_RATE",
        "/min",
        0,
        350,
        "8889-8",
        "Heart rate by Pulse oximetry",
    ),
    Parameter(
        "spo2",
        _("SpO2"),
        "150456",
        "MDC_PULS_OXIM_SAT_O2",
        "%",
        0,
        100,
        "59408-5",
        "Oxygen saturation in Arterial blood by Pulse oximetry",
    ),
    Parameter("rr", _("Respiratory rate"), "151562", "MDC_RESP_RATE", "/min", 0, 150, "9279-1", "Respiratory rate"),
    Parameter(
        "sys",
        _("Systolic BP"),
        "150021",
        "MDC_PRESS_BLD_NONINV_SYS",
        "mm[Hg]",
        0,
        350,
        "8480-6",
        "Systolic blood pressure",
    ),
    Parameter(
        "dia",
        _("Diastolic BP"),
        "150022",
        "MDC_PRESS_BLD_NONINV_DIA",
        "mm[Hg]",
        0,
        300,
        "8462-4",
        "Diastolic blood pressure",
    ),
    Parameter(
        "map", _("Mean BP"), "150023", "MDC_PRESS_BLD_NONINV_MEAN", "mm[Hg]", 0, 300, "8478-0", "Mean blood pressure"
    ),
    Parameter("temp", _("Temperature"), "150364", "MDC_TEMP_BODY", "Cel", 20, 45, "8310-5", "Body temperature"),
    Parameter(
        "etco2",
        _("EtCO2"),
        "151708",
        "MDC_AWAY_CO2_ET",
        "mm[Hg]",
        0,
        150,
        "19889-5",
        "Carbon dioxide/Gas.total.at end expiration in Exhaled gas",
    ),
    Parameter("st2", _("ST II"), "131842", "MDC_ECG_AMPL_ST_II", "mm", -20, 20),
    Parameter(
        "peep",
        _("PEEP"),
        "151976",
        "MDC_VENT_PRESS_AWAY_END_EXP_POS",
        "cm[H2O]",
        0,
        50,
        "76248-4",
        "PEEP Respiratory system by Ventilator",
    ),
    Parameter(
        "fio2",
        _("FiO2"),
        "152196",
        "MDC_VENT_CONC_AWAY_O2_INSP",
        "%",
        21,
        100,
        "3150-0",
        "Inhaled oxygen concentration",
    ),
    Parameter(
        "vt",
        _("Tidal volume"),
        "151980",
        "MDC_VENT_VOL_TIDAL",
        "mL",
        0,
        3000,
        "76222-9",
        "Tidal volume.inspired by Ventilator",
    ),
    Parameter(
        "vrr",
        _("Ventilator rate"),
        "151586",
        "MDC_VENT_RESP_RATE",
        "/min",
        0,
        100,
        "19840-8",
        "Breath rate mechanical --on ventilator",
    ),
    # waves
    Parameter("ecg2", _("ECG II"), "131330", "MDC_ECG_ELEC_POTL_II", "mV", -10, 10, wave=True),
    Parameter("pleth", _("Pleth"), "150452", "MDC_PULS_OXIM_PLETH", "1", -1000, 1000, wave=True),
    Parameter("co2wave", _("Capnogram"), "151756", "MDC_AWAY_CO2", "mm[Hg]", 0, 150, wave=True),
)
BY_KEY = {p.key: p for p in PARAMETERS}
# A code as a device sends it: the numeric MDC code, its MDC_ reference id, or the LOINC code.
BY_CODE: dict[str, Parameter] = {}
for _p in PARAMETERS:
    BY_CODE[_p.mdc] = BY_CODE[_p.mdc_ref] = _p
    if _p.loinc:
        BY_CODE.setdefault(_p.loinc, _p)
BY_CODE["2708-6"] = BY_KEY["spo2"]  # SpO2 by its older LOINC code
# Units devices send that mean the same as the UCUM unit.
UNIT_ALIASES = {
    "bpm": "/min",
    "mmHg": "mm[Hg]",
    "degC": "Cel",
    "°C": "Cel",
    "cmH2O": "cm[H2O]",
    "ml": "mL",
    "brth/min": "/min",
}

# Default alarm limits (low, high; critical low, critical high) by age group; None: no limit.
Limits = tuple[float | None, float | None, float | None, float | None]
DEFAULT_LIMITS: dict[str, dict[str, Limits]] = {
    "adult": {
        "hr": (50, 120, 40, 150),
        "spo2": (90, None, 85, None),
        "rr": (8, 30, 6, 40),
        "sys": (90, 160, 80, 200),
        "dia": (None, 100, None, 120),
        "temp": (35.5, 38.5, 34, 40),
        "etco2": (25, 50, 15, 60),
        "st2": (-2, 2, -3, 3),
    },
    "child": {
        "hr": (70, 140, 55, 170),
        "spo2": (92, None, 88, None),
        "rr": (15, 35, 10, 45),
        "sys": (85, 130, 75, 150),
        "temp": (35.5, 38.5, 34, 40),
    },
    "infant": {
        "hr": (100, 170, 80, 190),
        "spo2": (92, None, 88, None),
        "rr": (25, 55, 20, 65),
        "sys": (65, 110, 55, 125),
        "temp": (36, 38, 35, 39.5),
    },
}


class DeviceKind(models.TextChoices):
    MONITOR = "monitor", _("Patient monitor")
    VENTILATOR = "ventilator", _("Ventilator")


class IngestPath(models.TextChoices):
    MQTT = "mqtt", "MQTT"
    MLLP = "mllp", "HL7 v2 / MLLP"
    HTTP = "http", "HTTP"


class AlarmKind(models.TextChoices):
    PHYSIOLOGICAL = "physiological", _("Physiological")
    TECHNICAL = "technical", _("Technical")


class AlarmPriority(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


# Technical conditions a device reports (and ``offline``, which the hub finds itself).
TECHNICAL = {
    "leads_off": (_("ECG leads off"), AlarmPriority.MEDIUM),
    "no_signal": (_("No signal"), AlarmPriority.MEDIUM),
    "sensor_off": (_("SpO2 sensor off"), AlarmPriority.MEDIUM),
    "offline": (_("Device offline"), AlarmPriority.HIGH),
}
