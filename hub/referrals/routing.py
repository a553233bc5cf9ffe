"""Who gets a request: a named expert, the on-call roster, the department queue, or the least loaded.

The decision is a value with the reason spelled out; the services record it and tell the people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from federation.sites.models import Department
from hub.accounts.constants import Role
from hub.accounts.models import User
from hub.referrals.caches import departments
from hub.referrals.constants import PATHWAY_SPECIALTY, ReferralKind, RoutingRule, Urgency
from hub.referrals.models import OnCallShift, OpenCaseCount, Referral


@dataclass(frozen=True)
class RouteDecision:
    rule: str
    department: Department | None
    assignee: User | None
    reason: str


def department_for(*, referral: Referral) -> Department | None:
    if referral.target_department_id:
        return referral.target_department
    specialty = referral.target_specialty or PATHWAY_SPECIALTY.get(referral.pathway, "")
    if not specialty:
        return None
    site = referral.target_site_id
    return departments.get(
        (site, specialty),
        lambda: Department.objects.filter(site=site, specialty=specialty).order_by("pk").first(),
    )


def team_members(*, referral: Referral, department: Department | None):
    """Active people who may fulfil the request: the department's specialists (or, going down, its doctors).

    ``least_loaded`` spells the same criteria out in SQL: keep the two in step.
    """
    role = Role.COUNTY_DOCTOR if referral.kind == ReferralKind.DOWN else Role.SPECIALIST
    people = User.objects.filter(is_active=True, role=role, site=referral.target_site_id)
    return people.filter(department=department) if department is not None else people


def on_call_shift(*, department: Department, now: datetime) -> OnCallShift | None:
    return (
        OnCallShift.objects.select_related("primary", "backup")
        .filter(department=department, starts_at__lte=now, ends_at__gt=now)
        .order_by("starts_at")
        .first()
    )


# The least-loaded query, written out: Django compiles the equivalent annotated queryset in ~3 ms of CPU, several
# times what the database takes to run it. The open cases come from the per-person count the referral table's
# trigger keeps (``OpenCaseCount``), not from counting each person's open referrals on every request.
_LEAST_LOADED_SQL = """
SELECT u.*, COALESCE(c.open_cases, 0) AS open_cases
FROM {user} u LEFT JOIN {count} c ON c.user_id = u.id
WHERE u.is_active AND u.role = %(role)s AND u.site_id = %(site)s {department} AND NOT (u.id = ANY(%(exclude)s))
ORDER BY open_cases, u.id
LIMIT 1
"""


def least_loaded(*, referral: Referral, department: Department | None, exclude: set[int]) -> tuple[User, int] | None:
    """Of ``team_members``, the person with the fewest open cases (ties: the longest-standing account), in one query."""
    sql = _LEAST_LOADED_SQL.format(
        count=OpenCaseCount._meta.db_table,
        user=User._meta.db_table,
        department="AND u.department_id = %(department)s" if department is not None else "",
    )
    params = {
        "role": Role.COUNTY_DOCTOR if referral.kind == ReferralKind.DOWN else Role.SPECIALIST,
        "site": referral.target_site_id,
        "department": department.pk if department is not None else None,
        "exclude": sorted(exclude),
    }
    best = next(iter(User.objects.raw(sql, params)), None)
    return None if best is None else (best, best.open_cases)


def route_decide(
    *, referral: Referral, now: datetime, exclude: set[int] | frozenset[int] = frozenset()
) -> RouteDecision | None:
    """Where the request goes next; ``None`` when nobody is left who could take it."""
    expert = referral.named_expert
    if expert is not None and expert.is_active and expert.pk not in exclude:
        return RouteDecision(
            RoutingRule.NAMED_EXPERT,
            expert.department,
            expert,
            _("The requester asked for %(name)s.") % {"name": expert},
        )
    department = department_for(referral=referral)
    if department is None and referral.kind != ReferralKind.DOWN:
        return None
    team = department.name if department is not None else referral.target_site.name

    if referral.urgency == Urgency.EMERGENCY and department is not None:
        shift = on_call_shift(department=department, now=now)
        if shift is not None:
            for person, label in ((shift.primary, _("on call")), (shift.backup, _("on-call backup"))):
                if person is not None and person.is_active and person.pk not in exclude:
                    reason = _("Emergency: %(name)s is %(label)s for %(team)s until %(end)s.") % {
                        "name": person,
                        "label": label,
                        "team": team,
                        "end": f"{shift.ends_at:%Y-%m-%d %H:%M}",
                    }
                    return RouteDecision(RoutingRule.ON_CALL, department, person, reason)

    if referral.urgency == Urgency.ROUTINE:
        if not team_members(referral=referral, department=department).exclude(pk__in=exclude).exists():
            return None
        reason = _("Routine: placed in the %(team)s queue; anyone there may accept.") % {"team": team}
        return RouteDecision(RoutingRule.DEPARTMENT_QUEUE, department, None, reason)

    picked = least_loaded(referral=referral, department=department, exclude=set(exclude))
    if picked is None:
        return None
    person, load = picked
    reason = _("%(name)s has the fewest open cases in %(team)s (%(count)d).") % {
        "name": person,
        "team": team,
        "count": load,
    }
    return RouteDecision(RoutingRule.LOAD, department, person, reason)
