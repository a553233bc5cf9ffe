from django.urls import path

from hub.deliveries.web import views

app_name = "deliveries-web"
urlpatterns = [
    path("", views.dead_letters, name="dead-letters"),
    path("<int:message_id>/resend", views.resend, name="resend"),
]
