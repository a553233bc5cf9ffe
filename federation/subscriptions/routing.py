from django.urls import path

from federation.subscriptions.capability import WEBSOCKET_PATH
from federation.subscriptions.consumers import SubscriptionConsumer

websocket_urlpatterns = [path(WEBSOCKET_PATH.lstrip("/"), SubscriptionConsumer.as_asgi())]
