"""Reads of the device path: a device and its bindings by (site, key) for ingest (cached per process, see
``hub.devices.caches``), a patient's devices, trends from the per-minute summaries, open alarms, Prometheus
gauges."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from hub.devices.caches import expires
from hub.devices.models import Alarm, Binding, Device, Rejection, Summary


@dataclass(frozen=True)
class KnownDevice:
    id: int
    key: str
    site: str
    fhir_id: str
    active: bool
    bindings: tuple[tuple[str, datetime, datetime | None], ...]  # (patient_ref, start, end), newest first

    def patient_at(self, at: datetime) -> str:
        for patient_ref, start, end in self.bindings:
            if start <= at and (end is None or at < end):
                return patient_ref
        return ""


_cache: dict[tuple[str, str], tuple[KnownDevice | None, float]] = {}
_lock = threading.Lock()


def device_cache_clear() -> None:
    with _lock:
        _cache.clear()


def device_known(*, site_code: str, key: str) -> KnownDevice | None:
    entry = _cache.get((site_code, key))
    if entry is not None and time.monotonic() < entry[1]:
        return entry[0]
    device = Device.objects.filter(site__code=site_code, key=key).first()
    known = None
    if device is not None:
        since = timezone.now() - timedelta(days=2)
        bindings = tuple(
            Binding.objects.filter(device=device)
            .exclude(end__lt=since)
            .order_by("-start")
            .values_list("patient_ref", "start", "end")[:20]
        )
        known = KnownDevice(device.pk, device.key, site_code, device.fhir_id, device.active, bindings)
    with _lock:
        _cache[(site_code, key)] = (known, expires())
    return known


def devices_of_patient(patient_ref: str) -> list[Device]:
    """The devices attached to the patient now."""
    ids = Binding.objects.filter(patient_ref=patient_ref, end__isnull=True).values_list("device_id", flat=True)
    return list(Device.objects.filter(pk__in=ids).select_related("site"))


def device_state(device: Device, *, offline_seconds: int) -> str:
    if device.last_seen_at is None:
        return "never"
    return "online" if (timezone.now() - device.last_seen_at).total_seconds() < offline_seconds else "offline"


def trends(*, patient_ref: str, hours: int = 6) -> dict[str, list[list]]:
    """``{parameter: [[epoch seconds, min, median, max], ...]}`` over the last ``hours``."""
    since = timezone.now() - timedelta(hours=hours)
    out: dict[str, list[list]] = {}
    rows = (
        Summary.objects.filter(patient_ref=patient_ref, minute__gte=since)
        .order_by("minute")
        .values_list("parameter", "minute", "minimum", "median", "maximum")
    )
    for parameter, minute, low, median, high in rows:
        out.setdefault(parameter, []).append([int(minute.timestamp()), low, median, high])
    return out


def alarms_open(*, patient_ref: str):
    return Alarm.objects.filter(patient_ref=patient_ref, acknowledged_at__isnull=True).select_related("device")


def device_metrics():
    """Prometheus gauges (``hub.observability.metrics`` reads them at scrape time)."""
    from django.conf import settings
    from prometheus_client.core import GaugeMetricFamily

    devices = GaugeMetricFamily("hub_devices", "Registered devices by site and state", labels=["site", "state"])
    counts: dict[tuple[str, str], int] = {}
    for device in Device.objects.select_related("site").filter(active=True):
        state = device_state(device, offline_seconds=settings.DEVICES_OFFLINE_SECONDS)
        counts[(device.site.code, state)] = counts.get((device.site.code, state), 0) + 1
    for (site, state), count in sorted(counts.items()):
        devices.add_metric([site, state], count)
    refused = GaugeMetricFamily(
        "hub_device_messages_refused", "Device messages refused at ingest (dead letters), by reason", labels=["reason"]
    )
    for reason, count in Rejection.objects.values_list("reason").annotate(n=Count("pk")).values_list("reason", "n"):
        refused.add_metric([reason], count)
    alarms = GaugeMetricFamily(
        "hub_device_alarms_open", "Unacknowledged device alarms by priority", labels=["priority"]
    )
    for priority, count in (
        Alarm.objects.filter(acknowledged_at__isnull=True)
        .values_list("priority")
        .annotate(n=Count("pk"))
        .values_list("priority", "n")
    ):
        alarms.add_metric([priority], count)
    yield from (devices, refused, alarms)
