from django.urls import path

from hub.records.web import views

app_name = "records-web"
urlpatterns = [
    path("patients/<str:patient_id>/reveal", views.reveal, name="reveal"),
    path("items/<str:resource_type>/<str:fhir_id>/", views.item, name="item"),
    path("items/<str:resource_type>/<str:fhir_id>/content/<int:index>", views.content, name="content"),
    path("items/ImagingStudy/<str:fhir_id>/instances/<int:index>", views.instance, name="instance"),
]
