"""HL7 v2 ``ORU^R01`` from bedside monitor gateways (IHE PCD-01), parsed with ``hl7``, as a ``Message``.

- The site: MSH-4 (sending facility); the device: OBX-18 (equipment instance identifier) of the first OBX
  that names one, else MSH-3 (sending application).
- OBX-3 is the MDC code (``150456^MDC_PULS_OXIM_SAT_O2^MDC``) or a LOINC code; OBX-4 the containment
  (MDS.VMD.CHANNEL.METRIC, e.g. ``1.2.1.3``). Rows without a value (the MDS, VMD and channel rows) describe
  the device. Ordinals may change between messages, so values are matched on their codes, not positions.
- OBX-5 the value (NM), OBX-6 the unit (UCUM, or the MDC unit code), OBX-14 the time (else OBR-7, MSH-7).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import hl7
from django.utils.translation import gettext as _

from hub.devices.constants import IngestPath
from hub.devices.ingest.pipeline import Message, Numeric, Refusal, number_check, parameter_of

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
}


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


def _fill(message: Message, parsed, msh) -> None:
    header_time = _component(msh, 7, 1)
    default_at = hl7_time(header_time) if header_time else None
    obr_time = ""
    for obr in [segment for segment in parsed if str(segment[0]) == "OBR"][:1]:
        obr_time = _component(obr, 7, 1)
    if obr_time:
        default_at = hl7_time(obr_time)
    message.at = default_at
    for obx in [segment for segment in parsed if str(segment[0]) == "OBX"]:
        equipment = _component(obx, 18, 1)
        if equipment and not message.device_key:
            message.device_key = equipment
        value_type, value = _component(obx, 2, 1), str(obx[5]) if len(obx) > 5 else ""
        if not value:
            continue  # an MDS, VMD or channel row
        if value_type not in ("NM", "SN"):
            continue  # text, waves (NA): not taken over HL7 v2 here
        code = _component(obx, 3, 1) or _component(obx, 3, 2)
        unit_code, unit_name, unit_system = _component(obx, 6, 1), _component(obx, 6, 2), _component(obx, 6, 3)
        unit = (
            unit_code
            if unit_system.upper() == "UCUM"
            else MDC_UNITS.get(unit_code) or MDC_UNITS.get(unit_name) or unit_code
        )
        parameter = parameter_of(code, unit or None)
        try:
            number = float(value)
        except ValueError as exc:
            raise Refusal("malformed", _("%(code)s: the value is not a number.") % {"code": parameter.mdc_ref}) from exc
        when = _component(obx, 14, 1)
        at = hl7_time(when) if when else default_at
        if at is None:
            raise Refusal("malformed", _("The message has no time."))
        message.numerics.append(Numeric(parameter, number_check(number, parameter), at))
    if not message.device_key:
        message.device_key = _component(msh, 3, 1)
    if not message.numerics:
        raise Refusal("malformed", _("The message has no numeric values."))
