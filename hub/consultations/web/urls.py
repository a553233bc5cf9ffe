from django.urls import path

from hub.consultations.web import views

app_name = "consultations-web"
urlpatterns = [
    path("referrals/<int:referral_id>/room/", views.room_open, name="open"),
    path("rooms/<int:room_id>/", views.room_page, name="room"),
    path("rooms/<int:room_id>/history/", views.room_history, name="history"),
    path("rooms/<int:room_id>/records/<str:resource_type>/<str:fhir_id>/", views.record_fragment, name="record"),
]
