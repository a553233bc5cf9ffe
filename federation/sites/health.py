"""A site's visible health: healthy, degraded or down, with the circuit breaker that protects it.

After ``breaker_threshold`` failed runs in a row the site is down and is not called again until
``next_attempt_at`` (the probe), which backs off exponentially while it stays down.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from federation.sites.sync_config import HealthState, SiteSync
from federation.sync.models import DeadLetter

RECENT_ERRORS = 10


def _conf(name: str, default: float) -> float:
    return float((getattr(settings, "FEDERATION_SYNC", {}) or {}).get(name, default))


def health_success(*, sync: SiteSync, degraded: bool, now: datetime | None = None) -> None:
    now = now or timezone.now()
    sync.state = HealthState.DEGRADED if degraded else HealthState.HEALTHY
    sync.last_success_at = now
    sync.consecutive_failures = 0
    sync.next_attempt_at = None
    sync.last_error = ""  # the history stays in recent_errors
    sync.save(update_fields=["state", "last_success_at", "consecutive_failures", "next_attempt_at", "last_error"])


def health_note(*, sync: SiteSync, message: str, now: datetime | None = None) -> None:
    """Something a site administrator must look at although the sync itself went through."""
    now = now or timezone.now()
    sync.last_error = message[:2000]
    sync.recent_errors = ([{"at": now.isoformat(), "error": message[:500]}] + list(sync.recent_errors or []))[
        :RECENT_ERRORS
    ]
    sync.save(update_fields=["last_error", "recent_errors"])


def health_failure(*, sync: SiteSync, error: str, now: datetime | None = None) -> None:
    now = now or timezone.now()
    sync.consecutive_failures += 1
    sync.last_error = error[:2000]
    sync.recent_errors = ([{"at": now.isoformat(), "error": error[:500]}] + list(sync.recent_errors or []))[
        :RECENT_ERRORS
    ]
    threshold = int(_conf("breaker_threshold", 3))
    if sync.consecutive_failures >= threshold:
        sync.state = HealthState.DOWN
        wait = min(_conf("probe_after", 60) * 2 ** (sync.consecutive_failures - threshold), _conf("probe_max", 3600))
        sync.next_attempt_at = now + timedelta(seconds=wait)
    else:
        sync.state = HealthState.DEGRADED
        sync.next_attempt_at = None
    sync.save(update_fields=["consecutive_failures", "last_error", "recent_errors", "state", "next_attempt_at"])


def health_of(sync: SiteSync, *, now: datetime | None = None) -> dict:
    """What the hub shows about a site: state, last success, lag (seconds since then), recent errors."""
    now = now or timezone.now()
    return {
        "site": sync.site.code,
        "state": sync.state,
        "enabled": sync.enabled,
        "last_success_at": sync.last_success_at.isoformat() if sync.last_success_at else None,
        "lag_seconds": round((now - sync.last_success_at).total_seconds(), 1) if sync.last_success_at else None,
        "consecutive_failures": sync.consecutive_failures,
        "next_attempt_at": sync.next_attempt_at.isoformat() if sync.next_attempt_at else None,
        "recent_errors": sync.recent_errors,
        "dead_letters": DeadLetter.objects.filter(site_code=sync.site.code, resolved=False).count(),
    }


def syncs_due(*, now: datetime | None = None) -> list[int]:
    """Enabled syncs whose interval has passed and whose circuit (if open) allows a probe."""
    now = now or timezone.now()
    due = []
    for sync in SiteSync.objects.filter(enabled=True, site__active=True):
        if sync.next_attempt_at and sync.next_attempt_at > now:
            continue
        if sync.state != HealthState.DOWN and sync.last_attempt_at:
            if sync.last_attempt_at + timedelta(seconds=sync.interval_seconds) > now:
                continue
        due.append(sync.pk)
    return due
