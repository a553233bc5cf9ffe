"""The one retry policy of everything that talks to the outside: exponential backoff with jitter, then give up.

Used by the outbox (an attempt per worker run, waits of seconds to an hour, given up after ``give_up_after``,
at least 24 h, as a dead letter), by the sites' pull sync (``retries`` quick retries inside one run) and by
the circuit breaker (``ceiling``: how long a destination that keeps failing is left alone).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings

DAY = 24 * 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3  # quick retries inside one run (sync's page fetches); the outbox retries until it gives up
    backoff: float = 0.5  # seconds; the wait after attempt n (1-based) is at most backoff * 2**(n-1)
    max_wait: float = 30.0  # the longest wait between two attempts
    give_up_after: float = DAY  # seconds since the first attempt after which a failing delivery is a dead letter

    @classmethod
    def from_settings(cls, name: str = "FEDERATION_SYNC") -> RetryPolicy:
        """The policy of a settings dict (``FEDERATION_SYNC`` for sync, ``OUTBOX`` for deliveries)."""
        conf = getattr(settings, name, {}) or {}
        return cls(
            retries=int(conf.get("retries", cls.retries)),
            backoff=float(conf.get("backoff", cls.backoff)),
            max_wait=float(conf.get("max_wait", cls.max_wait)),
            give_up_after=float(conf.get("give_up_after", cls.give_up_after)),
        )

    @classmethod
    def outbox(cls) -> RetryPolicy:
        policy = cls.from_settings("OUTBOX")
        return replace(policy, give_up_after=max(policy.give_up_after, DAY))  # never less than a day

    def ceiling(self, attempt: int) -> float:
        """The longest wait after the ``attempt``-th failure in a row (1-based), without jitter."""
        return min(self.max_wait, self.backoff * 2 ** max(0, attempt - 1))

    def wait(self, attempt: int) -> float:
        """The wait after the ``attempt``-th failure: between half the ceiling and the ceiling (equal jitter),
        so that many deliveries failing together do not come back together."""
        ceiling = self.ceiling(attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security

    def next_attempt(self, *, attempt: int, now: datetime) -> datetime:
        return now + timedelta(seconds=self.wait(attempt))

    def gives_up(self, *, since: datetime, now: datetime) -> bool:
        return (now - since).total_seconds() >= self.give_up_after
