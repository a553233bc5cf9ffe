"""Websocket routes; each workflow app adds its consumers here."""

from hub.notifications.routing import websocket_urlpatterns as notification_routes

websocket_urlpatterns: list = [*notification_routes]
