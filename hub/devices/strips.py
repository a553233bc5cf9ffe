"""Waveform strips kept in the patient's record (a Strip and an Observation with ``valueSampledData``).

- Around an alarm: the ECG and pleth from ``DEVICES_STRIP_BEFORE_SECONDS`` before it to
  ``DEVICES_STRIP_AFTER_SECONDS`` after it. The alarm is marked due (``Alarm.strips_due_at``) and the strips are
  cut once the after-window has passed, by the devices' housekeeping, which runs in every mode: the ingest's own
  loop (``manage.py serve``, ``manage.py devices_ingest``), Celery beat, or the embedded scheduler when tasks
  run inline. A task with a countdown would not wait when Celery runs inline (the demo, the tests), and the
  live buffer it cuts from is this process's own without Redis.
- On demand from the live view or the API: the last seconds of a wave, at once.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.api_errors import DomainError, NotFoundError
from hub.devices import fhir
from hub.devices.constants import BY_KEY
from hub.devices.models import Alarm, Device, Strip

logger = logging.getLogger(__name__)
STRIP_SECONDS = 10
STRIP_FRAMES = 80  # newest live frames searched for an on-demand strip (a wave chunk every 0.25-1 s)
WAVES_AROUND_ALARMS = ("ecg2", "pleth")
GIVE_UP_SECONDS = 300  # without Redis, a process whose buffer holds nothing of the device leaves it this long


def _wave(parameter: str):
    wave = BY_KEY.get(parameter)
    if wave is None or not wave.wave:
        raise NotFoundError(_("No such wave."))
    return wave


def strip_save(*, device_id: int, parameter: str, user=None, seconds: int = STRIP_SECONDS) -> Strip | None:
    """The last ``seconds`` of a wave from the live buffer, kept now (the "save this strip" of the live view)."""
    from hub.devices.ingest.buffer import buffer_recent

    wave = _wave(parameter)
    chunks = [f["waves"][parameter] for f in buffer_recent(device_id, STRIP_FRAMES) if parameter in f.get("waves", {})]
    if not chunks:
        if user is not None:
            raise DomainError(_("No %(wave)s wave received lately.") % {"wave": wave.label}, code="no_wave")
        return None
    rate = chunks[-1]["rate"]
    samples: list[float] = []
    for chunk in reversed(chunks):
        if chunk["rate"] != rate:
            break
        samples[:0] = chunk["data"]
        start = chunk["at"]
        if len(samples) >= seconds * rate:
            break
    device = Device.objects.select_related("site").get(pk=device_id)
    patient_ref = device.bindings.filter(end__isnull=True).values_list("patient_ref", flat=True).first()
    if not patient_ref:
        return None
    return _store(device=device, patient_ref=patient_ref, wave=wave, start=start, rate=rate, samples=samples, user=user)


def window_samples(frames: list[dict], parameter: str, start: float, end: float) -> tuple[float, float, list] | None:
    """(rate, time of the first sample, samples) of ``parameter`` between epoch seconds ``start`` and ``end``,
    from buffered frames (chunks at another rate than the latest overlapping one are left out; overlaps once)."""
    chunks = [
        f["waves"][parameter]
        for f in frames
        if parameter in f.get("waves", {})
        and f["waves"][parameter]["at"] < end
        and f["waves"][parameter]["at"] + len(f["waves"][parameter]["data"]) / f["waves"][parameter]["rate"] > start
    ]
    if not chunks:
        return None
    rate = chunks[-1]["rate"]
    first_at, cursor, samples = None, start, []
    for chunk in sorted((c for c in chunks if c["rate"] == rate), key=lambda c: c["at"]):
        begin = max(cursor, start)
        first = max(0, math.ceil((begin - chunk["at"]) * rate - 1e-3))
        last = min(len(chunk["data"]), math.ceil((end - chunk["at"]) * rate - 1e-3))
        if first >= last:
            continue
        if first_at is None:
            first_at = chunk["at"] + first / rate
        samples += chunk["data"][first:last]
        cursor = chunk["at"] + last / rate
    return (rate, first_at, samples) if samples else None


def strips_around_alarm(alarm: Alarm) -> None:
    """Keep the strips around a just-raised alarm: now if nothing after it is wanted, else once it has passed."""
    after = settings.DEVICES_STRIP_AFTER_SECONDS
    if after <= 0:
        _cut(alarm)
        return
    Alarm.objects.filter(pk=alarm.pk).update(strips_due_at=alarm.raised_at + timedelta(seconds=after))


def strips_complete(now: datetime | None = None) -> int:
    """Housekeeping: cut the strips of the alarms whose after-window has passed; how many alarms were done."""
    from hub.devices.ingest.buffer import buffer_recent

    now = now or timezone.now()
    done = 0
    for alarm in Alarm.objects.filter(strips_due_at__lte=now).order_by("strips_due_at")[:50]:
        if (
            not settings.REDIS_URL
            and not buffer_recent(alarm.device_id, 1)
            and (now - alarm.strips_due_at).total_seconds() < GIVE_UP_SECONDS
        ):
            continue  # the live buffer is another process's (the ingest's): its housekeeping cuts them
        claimed = Alarm.objects.filter(pk=alarm.pk, strips_due_at=alarm.strips_due_at).update(strips_due_at=None)
        if not claimed:
            continue  # another process's housekeeping took it
        try:
            _cut(alarm)
        except Exception:
            logger.exception("strips around alarm %s not kept", alarm.pk)
        done += 1
    return done


def _cut(alarm: Alarm) -> list[Strip]:
    from hub.devices.ingest.buffer import buffer_recent

    raised = alarm.raised_at.timestamp()
    start = raised - settings.DEVICES_STRIP_BEFORE_SECONDS
    end = raised + max(settings.DEVICES_STRIP_AFTER_SECONDS, 0)
    frames = buffer_recent(alarm.device_id, settings.DEVICES_BUFFER_FRAMES)
    device = Device.objects.select_related("site").get(pk=alarm.device_id)
    kept = []
    for parameter in WAVES_AROUND_ALARMS:
        found = window_samples(frames, parameter, start, end)
        if found is None:
            continue
        rate, first_at, samples = found
        kept.append(
            _store(
                device=device,
                patient_ref=alarm.patient_ref,
                wave=_wave(parameter),
                start=first_at,
                rate=rate,
                samples=samples,
                alarm=alarm,
            )
        )
    return kept


def _store(*, device, patient_ref: str, wave, start: float, rate: float, samples: list, alarm=None, user=None) -> Strip:
    at = datetime.fromtimestamp(start, tz=UTC)
    with transaction.atomic():
        strip = Strip.objects.create(
            device=device,
            patient_ref=patient_ref,
            parameter=wave.key,
            start=at,
            rate=rate,
            samples=samples,
            alarm=alarm,
            saved_by=user,
        )
        strip.observation_id = fhir.fhir_store(
            resource=fhir.wave_observation(
                parameter=wave,
                samples=samples,
                rate=rate,
                patient_ref=patient_ref,
                device_fhir_id=device.fhir_id,
                at=at,
            ),
            owner=device.site.code,
        )
        strip.save(update_fields=["observation_id"])
    return strip
