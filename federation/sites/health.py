"""A site's visible health: healthy, degraded or down, with the circuit breaker that protects it.

After ``breaker_threshold`` failures in a row the site is down and is not called again until
``next_attempt_at`` (the probe), which backs off exponentially while it stays down. The breaker is the
site's one breaker in ``federation.outbox.breaker`` (key ``site:<code>``): failed sync runs and failed
deliveries to the site (signed opinions) count together, and either kind of success closes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from federation.outbox.breaker import breaker_failure, breaker_open_until, breaker_success, site_destination
from federation.sites.sync_config import HealthState, SiteSync
from federation.sync.models import DeadLetter

RECENT_ERRORS = 10


def health_success(*, sync: SiteSync, degraded: bool, now: datetime | None = None) -> None:
    now = now or timezone.now()
    breaker_success(site_destination(sync.site.code))
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
    breaker = breaker_failure(site_destination(sync.site.code), error=error, now=now)
    sync.consecutive_failures = breaker.consecutive_failures
    sync.last_error = error[:2000]
    sync.recent_errors = ([{"at": now.isoformat(), "error": error[:500]}] + list(sync.recent_errors or []))[
        :RECENT_ERRORS
    ]
    sync.state = HealthState.DOWN if breaker.open_until else HealthState.DEGRADED
    sync.next_attempt_at = breaker.open_until
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


def sites_by_state() -> dict[str, int]:
    """How many enabled sites' syncs are in each state (``/healthz`` says it without naming them)."""
    from django.db.models import Count

    counts = {state: 0 for state in HealthState.values}
    rows = SiteSync.objects.filter(enabled=True, site__active=True).values("state").annotate(n=Count("pk"))
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


def syncs_due(*, now: datetime | None = None) -> list[int]:
    """Enabled syncs whose interval has passed and whose circuit (if open) allows a probe."""
    now = now or timezone.now()
    due = []
    for sync in SiteSync.objects.select_related("site").filter(enabled=True, site__active=True):
        if sync.next_attempt_at:  # the breaker opened on the sync's own failures: its probe time (mirrored)
            if sync.next_attempt_at > now:
                continue
        elif breaker_open_until(site_destination(sync.site.code), now=now):  # deliveries to it keep failing
            continue
        if sync.state != HealthState.DOWN and sync.last_attempt_at:
            if sync.last_attempt_at + timedelta(seconds=sync.interval_seconds) > now:
                continue
        due.append(sync.pk)
    return due
