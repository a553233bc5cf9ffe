from django.urls import path

from hub.notifications.auth import BearerTokenWebsocketMiddleware
from hub.notifications.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/notifications/", BearerTokenWebsocketMiddleware(NotificationConsumer.as_asgi())),
]
