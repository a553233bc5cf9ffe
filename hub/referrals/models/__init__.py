"""Models of the referral workflow, defined per concern and collected here for Django."""

from hub.referrals.models.opinion import Appointment, Opinion
from hub.referrals.models.referral import (
    OpenCaseCount,
    Participant,
    Referral,
    RoutingDecision,
    TimeNodeRecord,
    Transition,
)
from hub.referrals.models.roster import DepartmentHead, OnCallShift, SlaBreach, SlaPolicy

__all__ = [
    "Appointment",
    "DepartmentHead",
    "OnCallShift",
    "OpenCaseCount",
    "Opinion",
    "Participant",
    "Referral",
    "RoutingDecision",
    "SlaBreach",
    "SlaPolicy",
    "TimeNodeRecord",
    "Transition",
]
