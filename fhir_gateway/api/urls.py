from django.urls import path

from fhir_gateway.api import views
from fhir_gateway.bulk import api as bulk

app_name = "fhir"

urlpatterns = [
    path("", views.base, name="base"),
    path("metadata", views.metadata, name="metadata"),
    path("_history", views.system_history, name="system-history"),
    # Bulk Data Access export, before the type and instance patterns that would take these paths.
    path("$export", bulk.system_export, name="export"),
    path("$export-poll-status/<str:uid>", bulk.export_status, name="export-status"),
    path("$export-file/<str:uid>/<str:name>", bulk.export_file, name="export-file"),
    path("Patient/$export", bulk.patient_export, name="patient-export"),
    path("Group/<str:fhir_id>/$export", bulk.group_export, name="group-export"),
    path("<str:resource_type>", views.type_root, name="type"),
    path("<str:resource_type>/_search", views.type_search, name="type-search"),
    path("<str:resource_type>/_history", views.type_history, name="type-history"),
    path("<str:resource_type>/<str:fhir_id>", views.instance, name="instance"),
    path("<str:resource_type>/<str:fhir_id>/_history", views.instance_history, name="instance-history"),
    path("<str:resource_type>/<str:fhir_id>/_history/<str:version_id>", views.vread, name="vread"),
    path("<str:resource_type>/<str:fhir_id>/<str:operation>", views.instance_operation, name="instance-operation"),
    path("<path:rest>", views.unknown, name="unknown"),
]
