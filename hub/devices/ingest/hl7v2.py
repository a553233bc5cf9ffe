"""HL7 v2 ``ORU^R01`` from bedside monitor gateways (IHE PCD-01), parsed with ``hl7``, as a ``Message``.

- The site: MSH-4 (sending facility); the device: OBX-18 (equipment instance identifier) of the first OBX
  that names one, else MSH-3 (sending application).
- OBX-3 is the MDC code (``150456^MDC_PULS_OXIM_SAT_O2^MDC``) or a LOINC code; OBX-4 the containment
  (MDS.VMD.CHANNEL.METRIC, e.g. ``1.2.1.3``). Rows without a value (the MDS, VMD and channel rows) describe
  the device. Ordinals may change between messages, so values are matched on their codes, not positions.
- OBX-5 the value (NM), OBX-6 the unit (UCUM, or the MDC unit code), OBX-14 the time (else OBR-7, MSH-7).
- Waves (IHE PCD-01 with the PCD waveform content, PCD-09 style): an OBX of value type NA whose OBX-3 is the
  wave's MDC code and OBX-5 its samples separated by ``^``, OBX-14 the time of the first sample. The sample
  period is the OBX that follows it with the code ``MDC_ATTR_TIME_PD_SAMP`` (67981) in ms (the unit
  ``MDC_DIM_MILLI_SEC``), us or s; without one, the code's usual rate (``WAVE_RATES``). The wave becomes the
  same ``Wave`` as an MQTT wave chunk, so it reaches the live buffer, the viewers and the alarms' strips alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import hl7
from django.utils.translation import gettext as _

from hub.devices.constants import IngestPath
from hub.devices.ingest.pipeline import (
    WAVE_MAX_SAMPLES,
    Message,
    Numeric,
    Refusal,
    Wave,
    number_check,
    parameter_of,
)

MDC_UNITS = {
    "264864": "/min",  # MDC_DIM_BEAT_PER_MIN
    "MDC_DIM_BEAT_PER_MIN": "/min",
    "264928": "/min",  # MDC_DIM_RESP_PER_MIN
    "MDC_DIM_RESP_PER_MIN": "/min",
    "262688": "%",
    "MDC_DIM_PERCENT": "%",
    "266016": "mm[Hg]",
    "MDC_DIM_MMHG": "mm[Hg]",
    "268192": "Cel",
    "MDC_DIM_DEGC": "Cel",
    "266048": "cm[H2O]",
    "MDC_DIM_CM_H2O": "cm[H2O]",
    "263762": "mL",
    "MDC_DIM_MILLI_L": "mL",
    "266418": "mV",
    "MDC_DIM_MILLI_VOLT": "mV",
    "262656": "1",
    "MDC_DIM_DIMLESS": "1",
}
SAMPLE_PERIOD_CODES = ("67981", "MDC_ATTR_TIME_PD_SAMP")
PERIOD_UNITS = {  # seconds per unit of a sample period
    "264338": 1e-3,
    "MDC_DIM_MILLI_SEC": 1e-3,
    "ms": 1e-3,
    "264339": 1e-6,
    "MDC_DIM_MICRO_SEC": 1e-6,
    "us": 1e-6,
    "264320": 1.0,
    "MDC_DIM_SEC": 1.0,
    "s": 1.0,
}
WAVE_RATES = {"ecg2": 250.0, "pleth": 100.0, "co2wave": 25.0}  # samples per second when no period is sent


def hl7_time(value: str) -> datetime:
    """``YYYYMMDDHHMM[SS[.S+]][+/-ZZZZ]`` (no offset: UTC)."""
    text = value.strip()
    offset = timedelta(0)
    for sign in ("+", "-"):
        if sign in text[8:]:
            text, _sep, zone = text.rpartition(sign)
            minutes = int(zone[:2]) * 60 + int(zone[2:4] or 0)
            offset = timedelta(minutes=minutes if sign == "+" else -minutes)
    digits, _dot, fraction = text.partition(".")
    if len(digits) < 12 or not digits.isdigit():
        raise Refusal("malformed", _("Bad HL7 time %(value)s.") % {"value": value[:30]})
    at = datetime.strptime(digits[:14].ljust(14, "0"), "%Y%m%d%H%M%S").replace(tzinfo=timezone(offset))
    if fraction.isdigit():
        at += timedelta(microseconds=int(fraction[:6].ljust(6, "0")))
    return at.astimezone(UTC)


def _component(segment, index: int, component: int) -> str:
    try:
        text = str(segment[index])
    except IndexError:
        return ""
    parts = text.split("~")[0].split("^")
    return parts[component - 1] if len(parts) >= component else ""


def parse_oru(raw: str) -> tuple[Message, str, hl7.Message | None]:
    """The ``Message`` of an ORU^R01 (``Refusal`` if malformed), its control id and the parsed message."""
    text = raw.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
    try:
        parsed = hl7.parse(text)
        msh = parsed.segment("MSH")
    except Exception as exc:
        raise Refusal("malformed", _("Not an HL7 v2 message.")) from exc
    control_id = _component(msh, 10, 1)
    site = _component(msh, 4, 1)
    if _component(msh, 9, 1) != "ORU" or _component(msh, 9, 2) != "R01":
        raise Refusal("malformed", _("Only ORU^R01 messages are taken."))
    message = Message(site_code=site, device_key="", path=IngestPath.MLLP, excerpt=text[:2000])
    try:
        _fill(message, parsed, msh)
    except Refusal as refusal:
        message.device_key = message.device_key or _component(msh, 3, 1)
        refusal.message, refusal.control_id = message, control_id  # the dead letter and the NACK name them
        raise
    return message, control_id, parsed


def ack(*, control_id: str, code: str, text: str = "", receiving_app: str = "", receiving_facility: str = "") -> str:
    """An ACK (``AA`` accepted, ``AE`` error, ``AR`` rejected) for one message."""
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    clean = text.replace("|", "/").replace("^", " ").replace("~", " ").replace("\\", "/").replace("&", "+")[:200]
    segments = [
        f"MSH|^~\\&|ALLIANCE-HUB|ALLIANCE|{receiving_app}|{receiving_facility}|{now}||ACK^R01^ACK|ACK{control_id}|P|2.6",
        f"MSA|{code}|{control_id}" + (f"|{clean}" if clean else ""),
    ]
    if code != "AA":
        segments.append(f"ERR|||207^Application internal error^HL70357|E|||{clean}")
    return "\r".join(segments) + "\r"


def _unit(obx) -> str:
    unit_code, unit_name, unit_system = _component(obx, 6, 1), _component(obx, 6, 2), _component(obx, 6, 3)
    if unit_system.upper() == "UCUM":
        return unit_code
    return MDC_UNITS.get(unit_code) or MDC_UNITS.get(unit_name) or unit_code


def _samples(value: str, parameter) -> list[float]:
    """OBX-5 of an NA row: numbers separated by ``^`` (a bounded count, each plausible)."""
    parts = value.split("^")
    if len(parts) > WAVE_MAX_SAMPLES:
        raise Refusal(
            "malformed",
            _("%(code)s: a wave has at most %(max)s samples per OBX.")
            % {"code": parameter.mdc_ref, "max": WAVE_MAX_SAMPLES},
        )
    samples = []
    for part in parts:
        try:
            number = float(part)
        except ValueError as exc:
            raise Refusal("malformed", _("%(code)s: a sample is not a number.") % {"code": parameter.mdc_ref}) from exc
        samples.append(number_check(number, parameter))
    return samples


def _period_rate(obx, value: str) -> float:
    """The sample rate an ``MDC_ATTR_TIME_PD_SAMP`` row gives (its period in ms, us or s)."""
    unit_code, unit_name = _component(obx, 6, 1), _component(obx, 6, 2)
    scale = PERIOD_UNITS.get(unit_code) or PERIOD_UNITS.get(unit_name) or (1e-3 if not unit_code else None)
    try:
        period = float(value) * scale if scale else 0.0
    except ValueError:
        period = 0.0
    if not period > 0 or not 1 <= 1 / period <= 2000:
        raise Refusal("malformed", _("A wave's rate is 1 to 2000 samples per second."))
    return round(1 / period, 6)


def _fill(message: Message, parsed, msh) -> None:
    header_time = _component(msh, 7, 1)
    default_at = hl7_time(header_time) if header_time else None
    obr_time = ""
    for obr in [segment for segment in parsed if str(segment[0]) == "OBR"][:1]:
        obr_time = _component(obr, 7, 1)
    if obr_time:
        default_at = hl7_time(obr_time)
    message.at = default_at
    last_wave: Wave | None = None
    for obx in [segment for segment in parsed if str(segment[0]) == "OBX"]:
        equipment = _component(obx, 18, 1)
        if equipment and not message.device_key:
            message.device_key = equipment
        value_type, value = _component(obx, 2, 1), str(obx[5]) if len(obx) > 5 else ""
        if not value:
            continue  # an MDS, VMD or channel row
        code = _component(obx, 3, 1) or _component(obx, 3, 2)
        if code in SAMPLE_PERIOD_CODES or _component(obx, 3, 2) in SAMPLE_PERIOD_CODES:
            if last_wave is None:
                raise Refusal("malformed", _("A sample period comes after its wave's OBX."))
            last_wave.rate = _period_rate(obx, value)
            continue
        if value_type not in ("NM", "SN", "NA"):
            continue  # text: not taken over HL7 v2 here
        parameter = parameter_of(code, _unit(obx) or None)
        when = _component(obx, 14, 1)
        at = hl7_time(when) if when else default_at
        if at is None:
            raise Refusal("malformed", _("The message has no time."))
        if value_type == "NA":
            if not parameter.wave:
                raise Refusal("malformed", _("%(code)s is not a wave.") % {"code": parameter.mdc_ref})
            last_wave = Wave(parameter, _samples(value, parameter), WAVE_RATES.get(parameter.key, 0.0), at)
            message.waves.append(last_wave)
            continue
        if parameter.wave:
            raise Refusal("malformed", _("%(code)s is a wave.") % {"code": parameter.mdc_ref})
        try:
            number = float(value)
        except ValueError as exc:
            raise Refusal("malformed", _("%(code)s: the value is not a number.") % {"code": parameter.mdc_ref}) from exc
        message.numerics.append(Numeric(parameter, number_check(number, parameter), at))
    if not message.device_key:
        message.device_key = _component(msh, 3, 1)
    if any(not wave.rate for wave in message.waves):
        raise Refusal("malformed", _("A wave needs its sample period (MDC_ATTR_TIME_PD_SAMP)."))
    if not message.numerics and not message.waves:
        raise Refusal("malformed", _("The message has no numeric values or waves."))
