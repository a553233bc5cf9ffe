"""What the network dashboard measures: trend intervals, the chest-pain centre's rates, opinion targets."""

from __future__ import annotations

from typing import NamedTuple

from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.referrals.constants import PATHWAY_TARGETS, Pathway, TimeNode, Urgency


class Interval(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")


# The pathways with time nodes, in the order the dashboard shows them.
DASHBOARD_PATHWAYS = (Pathway.CHEST_PAIN, Pathway.STROKE, Pathway.TRAUMA, Pathway.POISONING)
MAX_RANGE_DAYS = 3 * 366


class RateTarget(NamedTuple):
    """A share of patients: those of ``population`` (who reached ``reached``) for whom ``condition`` holds.

    ``population``: "ambulance" (the 120 call recorded) or "walk_in" (none); ``condition``: "transmitted"
    (the ECG sent before the door), "bypass_ed_ccu" (neither the ED nor the CCU entered), "bypass_ccu".
    """

    key: str
    population: str
    reached: str | None
    condition: str
    required_share: float
    label: str


# Chest Pain Center re-certification rates (the other five of its eight KPIs are intervals: PATHWAY_TARGETS).
CHEST_PAIN_RATES = [
    RateTarget("prehospital_ecg", "ambulance", None, "transmitted", 0.30, _("Pre-hospital ECG transmission >= 30%")),
    RateTarget(
        "bypass_ed_ccu",
        "ambulance",
        TimeNode.CATH_LAB_ARRIVAL,
        "bypass_ed_ccu",
        0.30,
        _("Ambulance arrivals bypassing ED and CCU >= 30%"),
    ),
    RateTarget(
        "bypass_ccu", "walk_in", TimeNode.CATH_LAB_ARRIVAL, "bypass_ccu", 0.50, _("Walk-ins bypassing CCU >= 50%")
    ),
]

# How soon a signed opinion should answer a submitted request, by urgency (minutes; configurable by key).
OPINION_WITHIN_MINUTES = {Urgency.EMERGENCY: 60, Urgency.URGENT: 8 * 60, Urgency.ROUTINE: 72 * 60}


def opinion_target_key(urgency: str) -> str:
    return f"opinion_{urgency}"


def configurable_target_keys() -> set[str]:
    """The keys ``HUB_KPI_TARGETS`` may set minutes for: every pathway interval and the opinion targets."""
    keys = {target.key for targets in PATHWAY_TARGETS.values() for target in targets}
    return keys | {opinion_target_key(urgency) for urgency in OPINION_WITHIN_MINUTES}
