"""One circuit breaker per destination, shared by the outbox's deliveries and the sites' pull sync.

A destination is a string: ``site:<code>`` for a member site's FHIR endpoint (``site_destination``), ``email``,
``sms``, or whatever a delivery handler names (e.g. a Subscription's endpoint). After ``breaker_threshold``
failures in a row (``FEDERATION_SYNC``) the breaker opens: nothing is sent to the destination until
``open_until`` (the probe), which backs off exponentially (``probe_after`` doubling up to ``probe_max``) while
it keeps failing; one success closes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from federation.outbox.models import Breaker
from federation.outbox.policy import RetryPolicy


def site_destination(site_code: str) -> str:
    """The breaker key of a member site's FHIR endpoint (sync pulls from it, the outbox writes to it)."""
    return f"site:{site_code}"


def _conf(name: str, default: float) -> float:
    return float((getattr(settings, "FEDERATION_SYNC", {}) or {}).get(name, default))


def probe_policy() -> RetryPolicy:
    return RetryPolicy(backoff=_conf("probe_after", 60), max_wait=_conf("probe_max", 3600))


def breaker_open_until(destination: str, *, now: datetime | None = None) -> datetime | None:
    """When the destination may be tried again, if its breaker is open now; None when it may be tried."""
    now = now or timezone.now()
    until = Breaker.objects.filter(destination=destination).values_list("open_until", flat=True).first()
    return until if until and until > now else None


def breaker_open(destination: str, *, now: datetime | None = None) -> Breaker | None:
    """The destination's breaker if it is open now (``open_until``: the probe time, ``last_error``: why)."""
    return Breaker.objects.filter(destination=destination, open_until__gt=now or timezone.now()).first()


def breaker_success(destination: str) -> None:
    Breaker.objects.filter(destination=destination).exclude(consecutive_failures=0, open_until=None).update(
        consecutive_failures=0, open_until=None
    )


def breaker_failure(destination: str, *, error: str, now: datetime | None = None) -> Breaker:
    """Count a failure; returns the breaker (``open_until`` set when it is open)."""
    now = now or timezone.now()
    threshold = int(_conf("breaker_threshold", 3))
    with transaction.atomic():
        breaker, _created = Breaker.objects.select_for_update().get_or_create(destination=destination)
        breaker.consecutive_failures += 1
        breaker.last_error = error[:2000]
        if breaker.consecutive_failures >= threshold:
            wait = probe_policy().ceiling(breaker.consecutive_failures - threshold + 1)
            breaker.open_until = now + timedelta(seconds=wait)
        else:
            breaker.open_until = None
        breaker.save(update_fields=["consecutive_failures", "last_error", "open_until", "updated_at"])
    return breaker
