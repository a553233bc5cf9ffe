"""Words the live notifications script shows (pathways, urgencies, states), in the page's language."""

from __future__ import annotations

from django import template
from django.utils.html import json_script

from hub.referrals.constants import Pathway, TaskStatus, Urgency

register = template.Library()


@register.simple_tag
def live_labels():
    labels = {
        "pathway": {str(k): str(v) for k, v in Pathway.choices},
        "urgency": {str(k): str(v) for k, v in Urgency.choices},
        "status": {str(k): str(v) for k, v in TaskStatus.choices},
    }
    return json_script(labels, "live-labels")
