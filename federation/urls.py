from django.urls import path

from federation import api

app_name = "federation"

urlpatterns = [
    path("fhir", api.push, name="push"),
    path("patients/<str:patient_id>/record", api.record_view, name="record-view"),
    path("sites/health", api.sites_health, name="sites-health"),
]
