"""The dashboard's JSON API and its CSV and XLSX exports (same filters, same numbers)."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api_schema import errors
from hub.dashboards.api.serializers import DashboardSerializer, FilterSerializer
from hub.dashboards.exports import export_csv, export_xlsx
from hub.dashboards.periods import Period, period_parse
from hub.dashboards.scope import Scope, dashboard_scope
from hub.dashboards.selectors import dashboard_payload
from hub.dashboards.tables import dashboard_tables

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def dashboard_for(user, params) -> tuple[dict, Period, Scope]:
    """The payload for a user and query parameters (validated); the page, the API and the exports use it."""
    filters = FilterSerializer(data=params.dict() if hasattr(params, "dict") else dict(params))
    filters.is_valid(raise_exception=True)
    data = filters.validated_data
    scope = dashboard_scope(user=user, site_code=data.get("site", ""), department_code=data.get("department", ""))
    period = period_parse(
        period=data.get("period", ""),
        start=data.get("start"),
        end=data.get("end"),
        interval=data.get("interval", ""),
        today=timezone.localdate(),
    )
    return dashboard_payload(scope=scope, period=period), period, scope


class DashboardApi(APIView):
    """The network dashboard: volumes, response times, pathway KPIs, trends, sites, departments, data feeds.

    Aggregates only. Officials and the hub's administrators see every site and may drill down to a site and a
    department; a site's administrator sees their own site.
    """

    @extend_schema(
        operation_id="dashboard",
        parameters=[FilterSerializer],
        responses={200: DashboardSerializer, **errors(400, 404)},
    )
    def get(self, request):
        payload, _period, _scope = dashboard_for(request.user, request.query_params)
        return Response(DashboardSerializer(payload).data)


def _filename(period: Period, suffix: str) -> str:
    return f"alliance-dashboard-{period.code or f'{period.first}_{period.last}'}.{suffix}"


class DashboardCsvApi(APIView):
    """The dashboard's tables as one CSV file (UTF-8), with the same numbers and headings as the page."""

    @extend_schema(
        operation_id="dashboard_export_csv",
        parameters=[FilterSerializer],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY), **errors(400, 404)},
    )
    def get(self, request):
        payload, period, _scope = dashboard_for(request.user, request.query_params)
        response = HttpResponse(export_csv(payload=payload, tables=dashboard_tables(payload)), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{_filename(period, "csv")}"'
        return response


class DashboardXlsxApi(APIView):
    """The dashboard's tables as an Excel workbook, one sheet per table, with the same numbers as the page."""

    @extend_schema(
        operation_id="dashboard_export_xlsx",
        parameters=[FilterSerializer],
        responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY), **errors(400, 404)},
    )
    def get(self, request):
        payload, period, _scope = dashboard_for(request.user, request.query_params)
        response = HttpResponse(export_xlsx(payload=payload, tables=dashboard_tables(payload)), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{_filename(period, "xlsx")}"'
        return response
