"""Words the live notifications script shows (pathways, urgencies, states), in the page's language."""

from __future__ import annotations

from django import template
from django.utils.html import json_script
from django.utils.translation import gettext_lazy as _

from hub.referrals.constants import Pathway, TaskStatus, Urgency

register = template.Library()

# What each notification is, in the reader's language (its stored title is in the language of whoever caused it).
EVENTS = {
    "referral.routed": _("New request"),
    "referral.accepted": _("Accepted"),
    "referral.completed": _("Opinion signed"),
    "referral.addendum": _("Addendum signed"),
    "referral.escalated": _("Escalated (response overdue)"),
    "referral.rejected": _("Rejected (nobody left to route to)"),
    "referral.cancelled": _("Cancelled"),
    "referral.failed": _("Could not be done"),
    "referral.info_requested": _("Information requested"),
    "referral.info_provided": _("Information added"),
    "referral.invited": _("Experts invited"),
    "referral.scheduled": _("Session scheduled"),
    "room.opened": _("Consultation room opened"),
}


@register.simple_tag
def live_labels():
    labels = {
        "pathway": {str(k): str(v) for k, v in Pathway.choices},
        "urgency": {str(k): str(v) for k, v in Urgency.choices},
        "status": {str(k): str(v) for k, v in TaskStatus.choices},
        "event": {key: str(value) for key, value in EVENTS.items()},
    }
    return json_script(labels, "live-labels")
