from django.urls import path

from hub.access.api.views import BreakGlassOpenApi, BreakGlassReviewApi, BreakGlassReviewListApi

urlpatterns = [
    path("break-glass", BreakGlassOpenApi.as_view(), name="api-break-glass"),
    path("break-glass/reviews", BreakGlassReviewListApi.as_view(), name="api-break-glass-reviews"),
    path("break-glass/reviews/<int:grant_id>", BreakGlassReviewApi.as_view(), name="api-break-glass-review"),
]
