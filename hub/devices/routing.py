from django.urls import path

from hub.devices.consumers import LiveConsumer
from hub.notifications.auth import BearerTokenWebsocketMiddleware

websocket_urlpatterns = [
    path("ws/devices/patients/<str:patient_id>/", BearerTokenWebsocketMiddleware(LiveConsumer.as_asgi())),
]
