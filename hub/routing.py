"""Websocket routes; each workflow app adds its consumers here."""

from federation.subscriptions.routing import websocket_urlpatterns as subscription_routes
from hub.consultations.routing import websocket_urlpatterns as room_routes
from hub.devices.routing import websocket_urlpatterns as device_routes
from hub.notifications.routing import websocket_urlpatterns as notification_routes

websocket_urlpatterns: list = [*notification_routes, *room_routes, *subscription_routes, *device_routes]
