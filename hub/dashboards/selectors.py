"""The network dashboard's numbers: one payload that the page, the JSON API and the exports all show.

Aggregates only: counts, medians and shares of submitted requests (drafts and test data left out), never a
patient. A request belongs to the period in which it was submitted, in the hub's local time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime

from django.conf import settings
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from federation.sites.sync_config import HealthState, SiteSync
from federation.sync.models import DeadLetter, SyncRun
from hub.dashboards.constants import (
    CHEST_PAIN_RATES,
    DASHBOARD_PATHWAYS,
    OPINION_WITHIN_MINUTES,
    RateTarget,
    opinion_target_key,
)
from hub.dashboards.periods import Period, bucket_label, bucket_start, buckets
from hub.dashboards.scope import Scope
from hub.dashboards.stats import minutes_between, percentile, share
from hub.referrals.constants import (
    Pathway,
    ReferralKind,
    TaskStatus,
    TimeNode,
    Urgency,
)
from hub.referrals.models import Referral, SlaBreach, TimeNodeRecord
from hub.referrals.sla import pathway_targets, sla_target

FIELDS = (
    "pk",
    "kind",
    "urgency",
    "pathway",
    "status",
    "requesting_site_id",
    "target_site_id",
    "requester__department_id",
    "target_department_id",
    "submitted_at",
    "accepted_at",
)


def dashboard_referrals(*, scope: Scope, period: Period):
    """The requests the dashboard counts: submitted in the period, not test data, within the scope."""
    queryset = Referral.objects.filter(
        is_test=False, submitted_at__gte=period.starts_at, submitted_at__lt=period.ends_at
    ).exclude(status=TaskStatus.DRAFT)
    if scope.site is not None:
        requesting, receiving = Q(requesting_site=scope.site), Q(target_site=scope.site)
        if scope.department is not None:
            requesting &= Q(requester__department=scope.department)
            receiving &= Q(target_department=scope.department)
        queryset = queryset.filter(requesting | receiving)
    else:
        queryset = queryset.filter(requesting_site__in=scope.sites)
    return queryset


def _rows(queryset) -> list[dict]:
    first_opinion = Min("opinions__signed_at", filter=Q(opinions__appends__isnull=True))
    rows = list(queryset.annotate(opinion_at=first_opinion).values(*FIELDS, "opinion_at").order_by("pk"))
    # The response target's breaches (a late signed opinion is measured by the opinion times below).
    accept_breaches = SlaBreach.objects.filter(referral__in=queryset.values("pk"), kind=SlaBreach.Kind.ACCEPT)
    breaches = Counter(accept_breaches.values_list("referral", flat=True))
    for row in rows:
        row["breaches"] = breaches.get(row["pk"], 0)
        row["accept_minutes"] = minutes_between(row["submitted_at"], row["accepted_at"]) if row["accepted_at"] else None
        row["opinion_minutes"] = minutes_between(row["submitted_at"], row["opinion_at"]) if row["opinion_at"] else None
    return rows


def _configured(key: str, default: int) -> int:
    return int((getattr(settings, "KPI_TARGET_MINUTES", {}) or {}).get(key, default))


def side_stats(rows: list[dict]) -> dict:
    """One side's volumes and response times (a site or department as requester, or as receiver)."""
    kinds = Counter(row["kind"] for row in rows)
    accept = [row["accept_minutes"] for row in rows if row["accept_minutes"] is not None]
    opinion = [row["opinion_minutes"] for row in rows if row["opinion_minutes"] is not None]
    return {
        "requests": len(rows),
        "up": kinds[ReferralKind.UP],
        "down": kinds[ReferralKind.DOWN],
        "consultations": kinds[ReferralKind.CONSULTATION],
        "diagnoses": kinds[ReferralKind.DIAGNOSIS],
        "emergency": sum(1 for row in rows if row["urgency"] == Urgency.EMERGENCY),
        "completed": sum(1 for row in rows if row["status"] == TaskStatus.COMPLETED),
        "breached_requests": sum(1 for row in rows if row["breaches"]),
        "accept_median": percentile(accept, 0.5),
        "accept_p90": percentile(accept, 0.9),
        "opinion_median": percentile(opinion, 0.5),
    }


def _counts(rows: list[dict], field: str, choices) -> list[dict]:
    counted = Counter(row[field] for row in rows)
    return [{"key": value, "label": str(label), "count": counted.get(value, 0)} for value, label in choices.choices]


def _summary(rows: list[dict]) -> dict:
    stats = side_stats(rows)
    breaches = sum(row["breaches"] for row in rows)
    return {
        "requests": stats["requests"],
        "up": stats["up"],
        "down": stats["down"],
        "balance": stats["up"] - stats["down"],
        "consultations": stats["consultations"],
        "diagnoses": stats["diagnoses"],
        "completed": stats["completed"],
        "breached_requests": stats["breached_requests"],
        "sla_breaches": breaches,
        "breach_share": share(stats["breached_requests"], stats["requests"]),
    }


def _response(rows: list[dict]) -> list[dict]:
    """Time to accept and to the signed opinion, per urgency, against their targets."""
    report = []
    for urgency, label in Urgency.choices:
        mine = [row for row in rows if row["urgency"] == urgency]
        accepted = [row for row in mine if row["accept_minutes"] is not None]
        accepted_in_time = sum(
            1
            for row in accepted
            if row["accept_minutes"] <= sla_target(urgency=urgency, pathway=row["pathway"])[0].total_seconds() / 60
        )
        opinion_target = _configured(opinion_target_key(urgency), OPINION_WITHIN_MINUTES[urgency])
        answered = [row["opinion_minutes"] for row in mine if row["opinion_minutes"] is not None]
        report.append(
            {
                "urgency": urgency,
                "label": str(label),
                "requests": len(mine),
                "accept_target_minutes": round(sla_target(urgency=urgency, pathway="")[0].total_seconds() / 60),
                "accepted": len(accepted),
                "accept_median": percentile([row["accept_minutes"] for row in accepted], 0.5),
                "accept_p90": percentile([row["accept_minutes"] for row in accepted], 0.9),
                "accept_met_share": share(accepted_in_time, len(accepted)),
                "opinion_target_minutes": opinion_target,
                "answered": len(answered),
                "opinion_median": percentile(answered, 0.5),
                "opinion_p90": percentile(answered, 0.9),
                "opinion_met_share": share(sum(1 for m in answered if m <= opinion_target), len(answered)),
            }
        )
    return report


def _node_times(queryset) -> dict[int, dict[str, datetime]]:
    times: dict[int, dict[str, datetime]] = defaultdict(dict)
    nodes = TimeNodeRecord.objects.filter(referral__in=queryset.filter(pathway__in=DASHBOARD_PATHWAYS).values("pk"))
    for referral_id, node, at in nodes.values_list("referral_id", "node", "at"):
        times[referral_id][node] = at
    return times


def _rate(rate: RateTarget, patients: list[dict[str, datetime]]) -> dict:
    ambulance = [p for p in patients if TimeNode.EMS_CALLED in p]
    population = ambulance if rate.population == "ambulance" else [p for p in patients if TimeNode.EMS_CALLED not in p]
    if rate.reached:
        population = [p for p in population if rate.reached in p]

    def holds(p: dict[str, datetime]) -> bool:
        if rate.condition == "transmitted":
            sent, door = p.get(TimeNode.ECG_TRANSMITTED), p.get(TimeNode.DOOR)
            return sent is not None and (door is None or sent <= door)
        if rate.condition == "bypass_ed_ccu":
            return TimeNode.ED_ENTERED not in p and TimeNode.CCU_ENTERED not in p
        return TimeNode.CCU_ENTERED not in p

    numerator = sum(1 for p in population if holds(p))
    ratio = share(numerator, len(population))
    return {
        "key": rate.key,
        "label": str(rate.label),
        "required_share": rate.required_share,
        "denominator": len(population),
        "numerator": numerator,
        "share": ratio,
        "passes": None if ratio is None else ratio >= rate.required_share,
    }


def _pathways(rows: list[dict], times: dict[int, dict[str, datetime]]) -> list[dict]:
    report = []
    for pathway in DASHBOARD_PATHWAYS:
        patients = [times.get(row["pk"], {}) for row in rows if row["pathway"] == pathway]
        intervals = []
        for target in pathway_targets(pathway):
            minutes = [
                minutes_between(p[target.start], p[target.end])
                for p in patients
                if target.start in p and target.end in p
            ]
            met = sum(1 for m in minutes if (m < target.minutes if target.strict else m <= target.minutes))
            met_share = share(met, len(minutes))
            intervals.append(
                {
                    "key": target.key,
                    "label": str(target.label),
                    "from": target.start,
                    "to": target.end,
                    "target_minutes": target.minutes,
                    "strict": target.strict,
                    "required_share": target.required_share,
                    "measured": len(minutes),
                    "median": percentile(minutes, 0.5),
                    "p90": percentile(minutes, 0.9),
                    "met": met,
                    "met_share": met_share,
                    "passes": None
                    if met_share is None or target.required_share is None
                    else met_share >= target.required_share,
                }
            )
        rates = [_rate(rate, patients) for rate in CHEST_PAIN_RATES] if pathway == Pathway.CHEST_PAIN else []
        report.append(
            {
                "pathway": pathway,
                "label": str(Pathway(pathway).label),
                "requests": len(patients),
                "intervals": intervals,
                "rates": rates,
            }
        )
    return report


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _trend(rows: list[dict], period: Period) -> list[dict]:
    grouped: dict[date, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[bucket_start(_local_day(row["submitted_at"]), period.interval)].append(row)
    trend = []
    for first in buckets(period):
        stats = side_stats(grouped.get(first, []))
        trend.append(
            {
                "bucket": bucket_label(first, period.interval),
                "start": first,
                "requests": stats["requests"],
                "up": stats["up"],
                "down": stats["down"],
                "consultations": stats["consultations"] + stats["diagnoses"],
                "breached_requests": stats["breached_requests"],
                "accept_median": stats["accept_median"],
            }
        )
    return trend


def _by_site(rows: list[dict], scope: Scope) -> list[dict]:
    requesting, receiving = defaultdict(list), defaultdict(list)
    for row in rows:
        requesting[row["requesting_site_id"]].append(row)
        receiving[row["target_site_id"]].append(row)
    sites = [scope.site] if scope.site is not None else scope.sites
    return [
        {
            "code": site.code,
            "name": _site_name(site),
            "kind": site.kind,
            "requesting": side_stats(requesting.get(site.pk, [])),
            "receiving": side_stats(receiving.get(site.pk, [])),
        }
        for site in sites
    ]


def _by_department(rows: list[dict], scope: Scope) -> list[dict]:
    """A site's departments, as requesters (the requesting doctor's department) and as receivers."""
    if scope.site is None:
        return []
    requesting, receiving = defaultdict(list), defaultdict(list)
    for row in rows:
        if row["requesting_site_id"] == scope.site.pk:
            requesting[row["requester__department_id"]].append(row)
        if row["target_site_id"] == scope.site.pk:
            receiving[row["target_department_id"]].append(row)
    departments = [scope.department] if scope.department is not None else list(scope.site.departments.order_by("code"))
    return [
        {
            "code": department.code,
            "name": _site_name(department),
            "requesting": side_stats(requesting.get(department.pk, [])),
            "receiving": side_stats(receiving.get(department.pk, [])),
        }
        for department in departments
    ]


def _site_name(place) -> str:
    """A site's or department's name in the page's language (the English name where there is one)."""
    from django.utils.translation import get_language

    if (get_language() or "").startswith("en") and place.name_en:
        return place.name_en
    return place.name


def _feed_health(scope: Scope, period: Period, now: datetime) -> list[dict]:
    """Each visible site's data feed: its sync state and lag now, and its runs and failures in the period."""
    sites = [scope.site] if scope.site is not None else list(scope.sites)
    syncs = {sync.site_id: sync for sync in SiteSync.objects.filter(site__in=sites)}
    runs = SyncRun.objects.filter(
        sync__site__in=sites, started_at__gte=period.starts_at, started_at__lt=period.ends_at
    ).values_list("sync__site_id", "ok")
    run_counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for site_id, ok in runs:
        run_counts[site_id][0] += 1
        run_counts[site_id][1] += 0 if ok else 1
    letters = Counter(
        DeadLetter.objects.filter(site_code__in=[s.code for s in sites], resolved=False).values_list(
            "site_code", flat=True
        )
    )
    report = []
    for site in sites:
        sync = syncs.get(site.pk)
        state = sync.state if sync is not None else ""
        lag = None
        if sync is not None and sync.last_success_at is not None:
            lag = round((now - sync.last_success_at).total_seconds() / 60, 1)
        errors = [
            e
            for e in (sync.recent_errors if sync is not None else []) or []
            if isinstance(e, dict) and str(e.get("at", "")) >= period.starts_at.isoformat()
        ]
        total, failed = run_counts[site.pk]
        report.append(
            {
                "code": site.code,
                "name": _site_name(site),
                "state": state,
                "state_label": str(HealthState(state).label) if state else _("no data feed"),
                "last_success_at": sync.last_success_at if sync is not None else None,
                "lag_minutes": lag,
                "consecutive_failures": sync.consecutive_failures if sync is not None else 0,
                "runs": total,
                "failed_runs": failed,
                "recent_errors": len(errors),
                "dead_letters": letters.get(site.code, 0),
            }
        )
    return report


def _place(place) -> dict | None:
    return None if place is None else {"code": place.code, "name": _site_name(place)}


def dashboard_payload(*, scope: Scope, period: Period, now: datetime | None = None) -> dict:
    """Everything the dashboard shows for ``scope`` over ``period``."""
    now = now or timezone.now()
    queryset = dashboard_referrals(scope=scope, period=period)
    rows = _rows(queryset)
    times = _node_times(queryset)
    return {
        "scope": {"level": scope.level, "site": _place(scope.site), "department": _place(scope.department)},
        "period": {
            "kind": period.kind,
            "code": period.code,
            "start": period.first,
            "end": period.last,
            "interval": period.interval,
        },
        "generated_at": now,
        "summary": _summary(rows),
        "by_kind": _counts(rows, "kind", ReferralKind),
        "by_urgency": _counts(rows, "urgency", Urgency),
        "by_pathway": _counts(rows, "pathway", Pathway),
        "by_status": [c for c in _counts(rows, "status", TaskStatus) if c["key"] != TaskStatus.DRAFT],
        "response": _response(rows),
        "pathways": _pathways(rows, times),
        "trend": _trend(rows, period),
        "sites": _by_site(rows, scope) if scope.department is None else [],
        "departments": _by_department(rows, scope),
        "feed_health": _feed_health(scope, period, now),
    }
