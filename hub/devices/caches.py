"""What the ingest keeps per process (a device and its bindings, a patient's alarm limits, a device's open
alarms) and how a change made anywhere reaches it.

Reading them from PostgreSQL for every message cost the ingest most of its time, so they are cached for up to
``CACHE_SECONDS``. A change (a device registered or bound, a limit edited, an alarm acknowledged) clears this
process's caches and moves a generation number in the shared cache (Redis in production) when it commits; the
ingest reads that number at most once every ``CHECK_SECONDS`` and drops its caches when it moved. Where no
shared cache reaches the ingest's process, the caches still expire after ``CACHE_SECONDS``.
"""

from __future__ import annotations

import logging
import random
import threading
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)
GENERATION_KEY = "hub:devices:generation"
CACHE_SECONDS = 30.0
CHECK_SECONDS = 1.0

_seen = {"generation": None, "checked": 0.0}


def expires() -> float:
    """When an entry loaded now expires (``time.monotonic()``): between half and all of ``CACHE_SECONDS``, so that
    the entries loaded together as the devices came in (hundreds in the first second) are not reloaded together."""
    return time.monotonic() + CACHE_SECONDS * (0.5 + random.random() / 2)


_lock = threading.Lock()


def _local_clear() -> None:
    from hub.devices import alarms
    from hub.devices.selectors import device_cache_clear

    device_cache_clear()
    alarms.caches_clear()


def changed() -> None:
    """A device, binding, limit or alarm changed (call after commit): every process's caches are dropped."""
    _local_clear()
    try:
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:  # not set yet (or evicted)
            cache.set(GENERATION_KEY, time.time_ns(), None)
    except Exception as error:  # the shared cache is down: the other processes' caches expire by themselves
        logger.warning("devices: the change could not be announced (%s); caches expire in %s s", error, CACHE_SECONDS)


def fresh() -> None:
    """Before a message: drop the caches if another process announced a change (one shared-cache read a second)."""
    now = time.monotonic()
    if now - _seen["checked"] < CHECK_SECONDS:
        return
    with _lock:
        if now - _seen["checked"] < CHECK_SECONDS:
            return
        _seen["checked"] = now
    try:
        generation = cache.get(GENERATION_KEY)
    except Exception:
        return
    if generation != _seen["generation"]:
        _seen["generation"] = generation
        _local_clear()


def warm(limit: int = 10_000) -> int:
    """At the ingest's start: load the caches for every device attached to a patient now, before the first
    message (after a restart a ward's devices all send within the same second; each would otherwise wait for the
    others' queries). Answers how many devices were loaded."""
    from hub.devices import alarms
    from hub.devices.models import Binding
    from hub.devices.selectors import device_known

    fresh()  # take the current generation first: the first message must not drop what is loaded here
    bound = Binding.objects.filter(end__isnull=True, device__active=True).values_list(
        "device_id", "device__site__code", "device__key", "patient_ref"
    )[:limit]
    count = 0
    for device_id, site_code, key, patient_ref in bound:
        device_known(site_code=site_code, key=key)
        alarms.caches_warm(device_id=device_id, patient_ref=patient_ref)
        count += 1
    return count
