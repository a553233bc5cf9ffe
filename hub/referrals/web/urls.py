from django.urls import path

from hub.referrals.web import views

app_name = "referrals-web"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("new/", views.referral_new, name="new"),
    path("statistics/", views.statistics, name="statistics"),
    path("<int:referral_id>/", views.referral_detail, name="detail"),
    path("<int:referral_id>/<slug:action>/", views.referral_action, name="action"),
]
