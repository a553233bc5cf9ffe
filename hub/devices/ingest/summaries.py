"""Per-minute summaries (min / median / max per device and parameter), accumulated in the ingesting process
and written when the minute is over; values that arrive later for a written minute are merged into it."""

from __future__ import annotations

import atexit
import logging
import statistics
import threading
import time
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)
FLUSH_EVERY = 5.0
GRACE = timedelta(seconds=3)  # a minute is written this long after it ends

_lock = threading.Lock()
_buckets: dict[tuple[int, str, datetime], tuple[str, list[float]]] = {}
_flusher: threading.Thread | None = None
autoflush = True  # tests turn it off and flush themselves


def summary_add(*, device_id: int, patient_ref: str, parameter: str, at: datetime, value: float) -> None:
    minute = at.replace(second=0, microsecond=0)
    with _lock:
        entry = _buckets.get((device_id, parameter, minute))
        if entry is None:
            _buckets[(device_id, parameter, minute)] = (patient_ref, [value])
        else:
            entry[1].append(value)
    _flusher_start()


def _flusher_start() -> None:
    global _flusher
    if _flusher is not None or not autoflush:
        return
    from django.conf import settings

    if not getattr(settings, "DEVICES_SUMMARY_FLUSH_THREAD", True):
        return
    with _lock:
        if _flusher is None:
            _flusher = threading.Thread(target=_flush_loop, name="device-summaries", daemon=True)
            _flusher.start()
            atexit.register(summaries_flush, everything=True)


def _flush_loop() -> None:
    from django.db import connection

    while True:
        time.sleep(FLUSH_EVERY)
        try:
            summaries_flush()
        except Exception:
            logger.exception("device summaries not written; kept for the next try")
        finally:
            connection.close()


def summaries_flush(*, everything: bool = False) -> int:
    """Write the minutes that are over (``everything``: all); answer how many rows were written."""
    from hub.devices.models import Summary

    limit = timezone.now() - GRACE
    with _lock:
        due = {k: v for k, v in _buckets.items() if everything or k[2] + timedelta(minutes=1) <= limit}
        for key in due:
            del _buckets[key]
    if not due:
        return 0
    try:
        with transaction.atomic():
            existing = {
                (s.device_id, s.parameter, s.minute): s
                for s in Summary.objects.select_for_update().filter(
                    device_id__in={k[0] for k in due}, minute__in={k[2] for k in due}
                )
            }
            new, changed = [], []
            for (device_id, parameter, minute), (patient_ref, values) in due.items():
                row = existing.get((device_id, parameter, minute))
                if row is None:
                    new.append(
                        Summary(
                            device_id=device_id,
                            patient_ref=patient_ref,
                            parameter=parameter,
                            minute=minute,
                            count=len(values),
                            minimum=min(values),
                            median=statistics.median(values),
                            maximum=max(values),
                        )
                    )
                else:  # a late arrival: the median is the median of the old one (weighted) and the new values
                    merged = [row.median] * min(row.count, 1000) + values
                    row.count += len(values)
                    row.minimum, row.maximum = min(row.minimum, *values), max(row.maximum, *values)
                    row.median = statistics.median(merged)
                    changed.append(row)
            Summary.objects.bulk_create(new)
            Summary.objects.bulk_update(changed, ["count", "minimum", "median", "maximum"])
    except Exception:
        with _lock:  # put them back: written next time
            for key, (patient_ref, values) in due.items():
                entry = _buckets.get(key)
                if entry is None:
                    _buckets[key] = (patient_ref, values)
                else:
                    entry[1].extend(values)
        raise
    return len(due)


def summaries_pending() -> int:
    with _lock:
        return sum(len(v[1]) for v in _buckets.values())


def summaries_discard() -> None:
    """Tests: forget what was accumulated."""
    with _lock:
        _buckets.clear()
