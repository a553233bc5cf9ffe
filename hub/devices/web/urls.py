from django.urls import path

from hub.devices.web import views

app_name = "devices-web"
urlpatterns = [
    path("", views.registry, name="registry"),
    path("<int:device_id>/binding", views.bind, name="bind"),
    path("rejections/", views.rejections, name="rejections"),
    path("patients/<str:patient_id>/live/", views.live, name="live"),
    path("patients/<str:patient_id>/limits/", views.limits, name="limits"),
]
