"""Response targets: the SLA policy rows, falling back to the alliance's defaults."""

from __future__ import annotations

from datetime import timedelta

from hub.referrals.caches import sla_targets
from hub.referrals.constants import DEFAULT_ACCEPT_WITHIN
from hub.referrals.models import SlaPolicy


def sla_target(*, urgency: str, pathway: str) -> tuple[timedelta, timedelta]:
    """(accept within, escalate again every) for a request; a pathway's own policy wins over the urgency's."""
    return sla_targets.get((urgency, pathway), lambda: _sla_target(urgency=urgency, pathway=pathway))


def _sla_target(*, urgency: str, pathway: str) -> tuple[timedelta, timedelta]:
    policies = {p.pathway: p for p in SlaPolicy.objects.filter(urgency=urgency, pathway__in=[pathway, ""])}
    policy = policies.get(pathway) or policies.get("")
    if policy is None:
        within = DEFAULT_ACCEPT_WITHIN[urgency]
        return within, within
    within = timedelta(minutes=policy.accept_within_minutes)
    every = timedelta(minutes=policy.escalate_every_minutes) if policy.escalate_every_minutes else within
    return within, every
