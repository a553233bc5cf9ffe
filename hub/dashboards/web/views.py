"""The officials' network dashboard page: the API's payload as charts and tables, with its picker and exports."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from federation.sites.models import Department
from hub.access.dashboards import sees_dashboard
from hub.api_errors import DomainError
from hub.dashboards.api.serializers import DashboardSerializer
from hub.dashboards.api.views import dashboard_for
from hub.dashboards.constants import Interval
from hub.dashboards.periods import period_code
from hub.dashboards.tables import dashboard_tables

PERIOD_KINDS = ("day", "week", "month", "quarter", "year", "custom")


def _period_kinds() -> list[tuple[str, str]]:
    return [
        ("day", _("Day")),
        ("week", _("Week")),
        ("month", _("Month")),
        ("quarter", _("Quarter")),
        ("year", _("Year")),
        ("custom", _("Custom range")),
    ]


def _quarters(today: date, count: int = 12) -> list[str]:
    codes, year, quarter = [], today.year, (today.month - 1) // 3 + 1
    for _n in range(count):
        codes.append(f"{year}-Q{quarter}")
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return codes


def api_params(query: QueryDict) -> QueryDict:
    """The page's form (a kind of period and one input per kind) as the API's query parameters."""
    params = QueryDict(mutable=True)
    kind = query.get("kind", "")
    if kind == "custom":
        for name in ("start", "end"):
            if query.get(name):
                params[name] = query[name]
    elif kind in PERIOD_KINDS and query.get(kind):
        params["period"] = query[kind]
    elif query.get("period"):
        params["period"] = query["period"]
    for name in ("interval", "site", "department"):
        if query.get(name):
            params[name] = query[name]
    return params


def _with(params: QueryDict, **changes) -> str:
    query = params.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value:
            query[name] = value
    return query.urlencode()


@login_required
def dashboard(request):
    if not sees_dashboard(request.user):
        return render(
            request,
            "web/error.html",
            {"status": 403, "message": _("The network dashboard is for officials.")},
            status=403,
        )
    params = api_params(request.GET)
    today = timezone.localdate()
    try:
        payload, period, scope = dashboard_for(request.user, params)
    except DomainError as error:
        return render(
            request, "web/error.html", {"status": error.status, "message": error.message}, status=error.status
        )
    except ValidationError:
        return render(request, "web/error.html", {"status": 400, "message": _("Invalid filters.")}, status=400)
    tables = dashboard_tables(payload)
    for table in tables:  # drill-down: a site's row leads to the site, a department's to the department
        if table.key.startswith("sites_"):
            table.links = ["?" + _with(params, site=s["code"], department="") for s in payload["sites"]]
        elif table.key.startswith("departments_") and scope.department is None:
            table.links = ["?" + _with(params, department=d["code"]) for d in payload["departments"]]
    data = DashboardSerializer(payload).data
    query = params.urlencode()
    context = {
        "payload": payload,
        "chart_data": data,
        "tables": tables,
        "period": period,
        "kind": period.kind,
        "kinds": _period_kinds(),
        "intervals": Interval.choices,
        "quarters": _quarters(today),
        "values": {
            "day": period.first.isoformat() if period.kind == "day" else today.isoformat(),
            "week": period.code if period.kind == "week" else period_code("week", today),
            "month": period.code if period.kind == "month" else period_code("month", today),
            "quarter": period.code if period.kind == "quarter" else period_code("quarter", today),
            "year": period.code if period.kind == "year" else str(today.year),
        },
        "scope": scope,
        "site_choices": scope.sites if len(scope.sites) > 1 else [],
        "departments": list(Department.objects.filter(site=scope.site).order_by("code")) if scope.site else [],
        "alliance_link": "?" + _with(params, site="", department="") if len(scope.sites) > 1 and scope.site else "",
        "site_link": "?" + _with(params, department="") if scope.department else "",
        "csv": reverse("api-dashboard-csv") + ("?" + query if query else ""),
        "xlsx": reverse("api-dashboard-xlsx") + ("?" + query if query else ""),
        "json": reverse("api-dashboard") + ("?" + query if query else ""),
    }
    return render(request, "dashboards/dashboard.html", context)


def statistics_redirect(request):
    """The old statistics page (``/referrals/statistics/``) lives on as the dashboard."""
    target = reverse("dashboards:dashboard")
    site = request.GET.get("site")
    return redirect(f"{target}?site={site}" if site else target)
