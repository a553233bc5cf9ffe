"""One message from a device, whichever way it came (MQTT, HL7 v2 over MLLP, HTTP): checked whole, then
recorded (live buffer, viewers, per-minute summaries, alarms) or refused whole (a dead letter, counted on the
device). Nothing of a refused message is stored.

JSON payload (MQTT and HTTP)::

    {"time": "2026-12-03T14:00:00Z",
     "numerics": [{"code": "147842", "value": 72, "unit": "/min"}, ...],     # MDC code, MDC_ id or LOINC
     "waves": [{"code": "131330", "rate": 250, "time": "...", "data": [0.1, ...]}],
     "technical": ["leads_off"]}
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from hub.devices.constants import BY_CODE, TECHNICAL, UNIT_ALIASES, IngestPath, Parameter
from hub.devices.selectors import KnownDevice, device_known

logger = logging.getLogger(__name__)
WAVE_MAX_SAMPLES = 5000
NUMERICS_MAX = 64


class Refusal(Exception):
    """A message refused; ``reason`` is a stable code (malformed, unknown_device, unbound, unknown_code,
    unit, impossible_value, clock)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, str(detail)


@dataclass
class Numeric:
    parameter: Parameter
    value: float
    at: datetime


@dataclass
class Wave:
    parameter: Parameter
    samples: list[float]
    rate: float
    at: datetime


@dataclass
class Message:
    site_code: str
    device_key: str
    path: str
    at: datetime | None = None
    numerics: list[Numeric] = field(default_factory=list)
    waves: list[Wave] = field(default_factory=list)
    technical: list[str] = field(default_factory=list)
    excerpt: str = ""
    received: float = field(default_factory=time.time)


@dataclass
class Accepted:
    device_id: int
    patient_ref: str
    numerics: int
    waves: int


# -- parsing ---------------------------------------------------------------------------------------------------
def _when(value, default: datetime | None = None) -> datetime:
    if value is None and default is not None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return datetime.fromtimestamp(value, tz=UTC)
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise Refusal("malformed", _("A time is an ISO 8601 date-time with its offset, or epoch seconds."))
    return parsed


def parameter_of(code, unit=None) -> Parameter:
    """The parameter a device's code names (MDC code, MDC_ reference id or LOINC), its unit checked."""
    if not isinstance(code, str | int) or isinstance(code, bool):
        raise Refusal("malformed", _("Each value needs a code."))
    parameter = BY_CODE.get(str(code).strip())
    if parameter is None:
        raise Refusal("unknown_code", _("Unknown code %(code)s.") % {"code": str(code)[:40]})
    if unit not in (None, ""):
        if not isinstance(unit, str) or UNIT_ALIASES.get(unit, unit) != parameter.ucum:
            raise Refusal(
                "unit",
                _("%(code)s is in %(expected)s, not %(unit)s.")
                % {"code": parameter.mdc_ref, "expected": parameter.ucum, "unit": str(unit)[:20]},
            )
    return parameter


def number_check(value, parameter: Parameter) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise Refusal("malformed", _("%(code)s: the value is not a number.") % {"code": parameter.mdc_ref})
    if not parameter.low <= value <= parameter.high:
        raise Refusal(
            "impossible_value",
            _("%(code)s = %(value)s is outside what a body can show (%(low)s to %(high)s).")
            % {"code": parameter.mdc_ref, "value": value, "low": parameter.low, "high": parameter.high},
        )
    return float(value)


def message_from_json(*, payload, site_code: str, device_key: str, path: str) -> Message:
    """A JSON payload as a ``Message`` (``Refusal`` for anything malformed)."""
    excerpt = payload[:500].decode(errors="replace") if isinstance(payload, bytes) else str(payload)[:500]
    message = Message(site_code=site_code, device_key=device_key, path=path, excerpt=excerpt)
    try:
        if isinstance(payload, bytes | str):
            import json

            try:
                payload = json.loads(payload)
            except ValueError as exc:
                raise Refusal("malformed", _("The message is not JSON.")) from exc
        if not isinstance(payload, dict):
            raise Refusal("malformed", _("A message is a JSON object."))
        message.at = _when(payload.get("time"))
        numerics, waves, technical = payload.get("numerics", []), payload.get("waves", []), payload.get("technical", [])
        if not all(isinstance(x, list) for x in (numerics, waves, technical)) or len(numerics) > NUMERICS_MAX:
            raise Refusal("malformed", _("numerics, waves and technical are lists."))
        for item in numerics:
            if not isinstance(item, dict):
                raise Refusal("malformed", _("Each numeric is an object."))
            parameter = parameter_of(item.get("code"), item.get("unit"))
            if parameter.wave:
                raise Refusal("malformed", _("%(code)s is a wave.") % {"code": parameter.mdc_ref})
            at = _when(item.get("time"), message.at)
            message.numerics.append(Numeric(parameter, number_check(item.get("value"), parameter), at))
        for item in waves:
            if not isinstance(item, dict):
                raise Refusal("malformed", _("Each wave is an object."))
            parameter = parameter_of(item.get("code"), item.get("unit"))
            rate, data = item.get("rate"), item.get("data")
            if not isinstance(rate, int | float) or isinstance(rate, bool) or not 1 <= rate <= 2000:
                raise Refusal("malformed", _("A wave's rate is 1 to 2000 samples per second."))
            if not isinstance(data, list) or not 0 < len(data) <= WAVE_MAX_SAMPLES:
                raise Refusal("malformed", _("A wave's data is a list of 1 to 5000 samples."))
            samples = [number_check(x, parameter) for x in data]
            message.waves.append(Wave(parameter, samples, float(rate), _when(item.get("time"), message.at)))
        for condition in technical:
            if condition not in TECHNICAL or condition == "offline":
                raise Refusal("unknown_code", _("Unknown technical condition %(c)s.") % {"c": str(condition)[:40]})
            message.technical.append(condition)
    except Refusal as refusal:
        rejection_record(message, refusal)
        raise
    return message


# -- the ingest threads' database connection --------------------------------------------------------------------
_connection_used = threading.local()
IDLE_CHECK_SECONDS = 30.0


def connection_ready() -> None:
    """Before each message: keep this thread's connection from the last one; check it (one round trip) only after
    an error or a pause of ``IDLE_CHECK_SECONDS``, and replace it if unusable. Django's ``close_old_connections``
    closes the connection after every message when ``CONN_MAX_AGE`` is 0 (the default without a pool): a new
    PostgreSQL connection for each device message cost more CPU than the message itself."""
    from django.db import connection

    now = time.monotonic()
    last, _connection_used.at = getattr(_connection_used, "at", now), now
    if connection.connection is None:
        return
    if connection.errors_occurred or now - last > IDLE_CHECK_SECONDS:
        if connection.in_atomic_block or not connection.is_usable():
            connection.close()
        connection.errors_occurred = False


# -- checking and recording --------------------------------------------------------------------------------------
def message_ingest(message: Message) -> Accepted:
    """Check ``message`` whole and record it; ``Refusal`` (recorded as a dead letter) if any of it is wrong."""
    from hub.devices.caches import fresh
    from hub.observability.metrics import device_message_observed

    fresh()
    try:
        device, patient_ref = _check(message)
    except Refusal as refusal:
        rejection_record(message, refusal)
        device_message_observed(message.path, "refused")
        raise
    _record(message, device, patient_ref)
    device_message_observed(message.path, "accepted")
    return Accepted(device.id, patient_ref, len(message.numerics), len(message.waves))


def _check(message: Message) -> tuple[KnownDevice, str]:
    device = device_known(site_code=message.site_code, key=message.device_key)
    if device is None or not device.active:
        raise Refusal("unknown_device", _("No device %(key)s at this site.") % {"key": message.device_key[:64]})
    now = timezone.now()
    times = [message.at] if message.at else []
    times += [n.at for n in message.numerics] + [w.at for w in message.waves]
    if not times:
        raise Refusal("malformed", _("The message has no time."))
    ahead, behind = (
        timedelta(seconds=settings.DEVICES_CLOCK_SKEW_SECONDS),
        timedelta(hours=settings.DEVICES_BACKFILL_HOURS),
    )
    for at in times:
        if at > now + ahead or at < now - behind:
            raise Refusal(
                "clock",
                _("The time %(at)s is too far from the hub's clock (%(now)s): check the device's clock.")
                % {"at": at.isoformat(), "now": now.replace(microsecond=0).isoformat()},
            )
    patient_refs = {device.patient_at(at) for at in times}
    if "" in patient_refs:
        raise Refusal("unbound", _("Device %(key)s is not attached to a patient at that time.") % {"key": device.key})
    if len(patient_refs) > 1:
        raise Refusal("unbound", _("The message spans two patients' bindings; send each part on its own."))
    return device, patient_refs.pop()


def _record(message: Message, device: KnownDevice, patient_ref: str) -> None:
    from hub.devices import alarms
    from hub.devices.events import frame_publish
    from hub.devices.ingest.buffer import buffer_append
    from hub.devices.ingest.summaries import summary_add

    at = message.at or (message.numerics or message.waves)[0].at
    frame = {
        "type": "vitals",
        "device": device.key,
        "device_id": device.id,
        "at": at.timestamp(),
        "sent": message.received,
        "numerics": {n.parameter.key: n.value for n in message.numerics},
        "waves": {w.parameter.key: {"rate": w.rate, "at": w.at.timestamp(), "data": w.samples} for w in message.waves},
        "technical": message.technical,
    }
    buffer_append(device.id, frame)
    frame_publish(patient_ref=patient_ref, frame=frame)
    for numeric in message.numerics:
        summary_add(
            device_id=device.id,
            patient_ref=patient_ref,
            parameter=numeric.parameter.key,
            at=numeric.at,
            value=numeric.value,
        )
    alarms.alarms_evaluate(device=device, patient_ref=patient_ref, message=message)
    _seen(device.id)


_last_seen: dict[int, float] = {}
_seen_lock = threading.Lock()
SEEN_EVERY = 5.0


def _seen(device_id: int) -> None:
    """``Device.last_seen_at``, written at most every few seconds per device."""
    from hub.devices.models import Device

    now = time.monotonic()
    with _seen_lock:
        if now - _last_seen.get(device_id, -SEEN_EVERY) < SEEN_EVERY:
            return
        _last_seen[device_id] = now
    Device.objects.filter(pk=device_id).update(last_seen_at=timezone.now())


def rejection_record(message: Message, refusal: Refusal) -> None:
    from hub.devices.models import Device, Rejection

    device = Device.objects.filter(site__code=message.site_code, key=message.device_key).first()
    Rejection.objects.create(
        site_code=message.site_code[:64],
        device_key=message.device_key[:64],
        device=device,
        path=message.path if message.path in IngestPath.values else IngestPath.HTTP,
        reason=refusal.reason,
        detail=refusal.detail[:500],
        excerpt=message.excerpt[:2000],
        received_at=timezone.now(),
    )
    if device is not None:
        Device.objects.filter(pk=device.pk).update(rejected=F("rejected") + 1)
    logger.info(
        "device message refused: %s/%s %s: %s", message.site_code, message.device_key, refusal.reason, refusal.detail
    )
