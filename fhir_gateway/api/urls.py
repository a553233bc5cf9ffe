from django.urls import path

from fhir_gateway.api import views

app_name = "fhir"

urlpatterns = [
    path("", views.base, name="base"),
    path("metadata", views.metadata, name="metadata"),
    path("_history", views.system_history, name="system-history"),
    path("<str:resource_type>", views.type_root, name="type"),
    path("<str:resource_type>/_search", views.type_search, name="type-search"),
    path("<str:resource_type>/_history", views.type_history, name="type-history"),
    path("<str:resource_type>/<str:fhir_id>", views.instance, name="instance"),
    path("<str:resource_type>/<str:fhir_id>/_history", views.instance_history, name="instance-history"),
    path("<str:resource_type>/<str:fhir_id>/_history/<str:version_id>", views.vread, name="vread"),
    path("<str:resource_type>/<str:fhir_id>/<str:operation>", views.instance_operation, name="instance-operation"),
    path("<path:rest>", views.unknown, name="unknown"),
]
