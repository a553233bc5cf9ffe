from django.urls import path

from hub.dashboards.api.views import DashboardApi, DashboardCsvApi, DashboardXlsxApi

urlpatterns = [
    path("", DashboardApi.as_view(), name="api-dashboard"),
    path("export.csv", DashboardCsvApi.as_view(), name="api-dashboard-csv"),
    path("export.xlsx", DashboardXlsxApi.as_view(), name="api-dashboard-xlsx"),
]
