"""Every write of the referral workflow (import from here)."""

from hub.referrals.services.create import ConsentGiven, referral_create, referral_request, referral_submit
from hub.referrals.services.delivery import opinion_delivery_enqueue
from hub.referrals.services.escalation import opinion_escalate, opinion_escalate_due, sla_escalate, sla_escalate_due
from hub.referrals.services.lifecycle import referral_cancel, task_fail, task_hold, task_resume, task_start
from hub.referrals.services.opinion import appointment_schedule, opinion_addendum, opinion_sign
from hub.referrals.services.time_nodes import time_nodes_record
from hub.referrals.services.workflow import (
    referral_info_provide,
    task_accept,
    task_decline,
    task_forward,
    task_invite,
    task_receive,
    task_request_info,
)

__all__ = [
    "ConsentGiven",
    "appointment_schedule",
    "opinion_addendum",
    "opinion_delivery_enqueue",
    "opinion_sign",
    "referral_cancel",
    "referral_create",
    "referral_request",
    "referral_info_provide",
    "referral_submit",
    "opinion_escalate",
    "opinion_escalate_due",
    "sla_escalate",
    "sla_escalate_due",
    "task_accept",
    "task_decline",
    "task_fail",
    "task_forward",
    "task_hold",
    "task_invite",
    "task_receive",
    "task_request_info",
    "task_resume",
    "task_start",
    "time_nodes_record",
]
