from django.urls import path

from federation import api

app_name = "federation"

urlpatterns = [
    path("fhir", api.push, name="push"),
    path("sites/health", api.sites_health, name="sites-health"),
]
