from django.urls import path

from hub.notifications.api.views import NotificationListApi, NotificationReadApi

urlpatterns = [
    path("", NotificationListApi.as_view(), name="api-notifications"),
    path("read", NotificationReadApi.as_view(), name="api-notifications-read"),
]
