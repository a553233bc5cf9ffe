from django.urls import path

from hub.access.web import views

app_name = "access-web"
urlpatterns = [
    path("patients/<str:patient_id>/", views.patient_record, name="patient"),
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<int:grant_id>/", views.review, name="review"),
]
