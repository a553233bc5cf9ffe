"""Routing reasons in the page's language.

The hub writes a routing decision's reason in the language that was active when it routed (usually Chinese);
a page shows it again from the decision's rule, person and department, in the reader's language. Reasons a
person typed (a forward's) are shown as typed.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from hub.referrals.constants import RoutingRule


def routing_reason(decision, *, site_name: str = "") -> str:
    """The decision's reason, said again in the active language (the stored text where a person wrote it)."""
    name = str(decision.assignee) if decision.assignee_id else ""
    team = decision.department.name if decision.department_id else site_name
    if decision.rule == RoutingRule.NAMED_EXPERT and name:
        return _("The requester asked for %(name)s.") % {"name": name}
    if decision.rule == RoutingRule.ON_CALL and name:
        return _("Emergency: %(name)s is on call for %(team)s.") % {"name": name, "team": team}
    if decision.rule == RoutingRule.DEPARTMENT_QUEUE:
        return _("Routine: placed in the %(team)s queue; anyone there may accept.") % {"team": team}
    if decision.rule == RoutingRule.LOAD and name:
        return _("%(name)s has the fewest open cases in %(team)s.") % {"name": name, "team": team}
    if decision.rule == RoutingRule.ESCALATION and name:
        return _("Not accepted in time; escalated to %(name)s.") % {"name": name}
    return decision.reason
