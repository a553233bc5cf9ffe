"""Websocket routes; each workflow app adds its consumers here."""

websocket_urlpatterns: list = []
