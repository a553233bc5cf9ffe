from django.urls import path

from hub.devices.api import views

urlpatterns = [
    path("", views.DeviceListApi.as_view(), name="api-devices"),
    path("ingest", views.IngestApi.as_view(), name="api-devices-ingest"),
    path("rejections", views.RejectionListApi.as_view(), name="api-devices-rejections"),
    path("<int:device_id>/bind", views.DeviceBindApi.as_view(), name="api-devices-bind"),
    path("<int:device_id>/unbind", views.DeviceUnbindApi.as_view(), name="api-devices-unbind"),
    path("alarms/<int:alarm_id>/acknowledge", views.AlarmAcknowledgeApi.as_view(), name="api-devices-alarm-ack"),
    path("patients/<str:patient_id>/live", views.PatientLiveApi.as_view(), name="api-devices-live"),
    path("patients/<str:patient_id>/strips", views.StripApi.as_view(), name="api-devices-strips"),
    path(
        "patients/<str:patient_id>/thresholds/<str:parameter>",
        views.ThresholdApi.as_view(),
        name="api-devices-threshold",
    ),
]
