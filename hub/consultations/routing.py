from django.urls import path

from hub.consultations.consumers import RoomConsumer
from hub.notifications.auth import BearerTokenWebsocketMiddleware

websocket_urlpatterns = [
    path("ws/consultations/rooms/<int:room_id>/", BearerTokenWebsocketMiddleware(RoomConsumer.as_asgi())),
]
