from django.urls import path

from hub.dashboards.web import views

app_name = "dashboards"
urlpatterns = [path("", views.dashboard, name="dashboard")]
