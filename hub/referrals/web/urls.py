from django.urls import path

from hub.dashboards.web.views import statistics_redirect
from hub.referrals.web import views

app_name = "referrals-web"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("new/", views.referral_new, name="new"),
    path("statistics/", statistics_redirect, name="statistics"),  # now the network dashboard
    path("<int:referral_id>/", views.referral_detail, name="detail"),
    path(
        "<int:referral_id>/files/<str:resource_type>/<str:fhir_id>",
        views.referral_file,
        name="file",
    ),
    path("<int:referral_id>/<slug:action>/", views.referral_action, name="action"),
]
