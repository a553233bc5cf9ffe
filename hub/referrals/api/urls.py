from django.urls import path

from hub.referrals.api.actions import ACTIONS
from hub.referrals.api.views import ReferralDetailApi, ReferralListCreateApi, ReferralStatisticsApi

urlpatterns = [
    path("", ReferralListCreateApi.as_view(), name="referral-list"),
    path("statistics", ReferralStatisticsApi.as_view(), name="referral-statistics"),
    path("<int:referral_id>", ReferralDetailApi.as_view(), name="referral-detail"),
    *[
        path(f"<int:referral_id>/{name.replace('_', '-')}", view.as_view(), name=f"referral-{name}")
        for name, view in ACTIONS.items()
    ],
]
