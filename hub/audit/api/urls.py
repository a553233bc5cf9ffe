from django.urls import path

from hub.audit.api.views import AuditEventListApi

urlpatterns = [path("events", AuditEventListApi.as_view(), name="api-audit-events")]
