"""Targets: response times (the SLA policy rows, falling back to the alliance's defaults) and pathway intervals."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from hub.referrals.caches import sla_targets
from hub.referrals.constants import DEFAULT_ACCEPT_WITHIN, DEFAULT_OPINION_WITHIN, PATHWAY_TARGETS, IntervalTarget
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


def opinion_target(*, urgency: str, pathway: str) -> tuple[timedelta, timedelta]:
    """(sign the opinion within, from the acceptance; then escalate again every) for an accepted request; a
    pathway's own policy wins over the urgency's, a policy without opinion minutes takes the default."""
    policies = {p.pathway: p for p in SlaPolicy.objects.filter(urgency=urgency, pathway__in=[pathway, ""])}
    policy = policies.get(pathway) or policies.get("")
    minutes = policy.opinion_within_minutes if policy is not None else None
    within = timedelta(minutes=minutes) if minutes else DEFAULT_OPINION_WITHIN[urgency]
    every = timedelta(minutes=policy.escalate_every_minutes) if policy and policy.escalate_every_minutes else within
    return within, every


def pathway_targets(pathway: str) -> list[IntervalTarget]:
    """The pathway's interval targets, with the minutes configured in ``settings.KPI_TARGET_MINUTES`` by key."""
    configured = getattr(settings, "KPI_TARGET_MINUTES", {}) or {}
    return [
        target._replace(minutes=configured[target.key]) if target.key in configured else target
        for target in PATHWAY_TARGETS.get(pathway, [])
    ]
