"""Websocket authentication by bearer token, for clients that are not a signed-in browser."""

from __future__ import annotations

from channels.db import database_sync_to_async


@database_sync_to_async
def _user_for_token(raw: str):
    from hub.accounts.services import api_token_authenticate

    return api_token_authenticate(raw)


class BearerTokenWebsocketMiddleware:
    """Sets ``scope["user"]`` from an ``Authorization: Bearer`` header when the session gave none."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            headers = dict(scope.get("headers") or [])
            scheme, _sep, value = headers.get(b"authorization", b"").decode("latin1").partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                token_user = await _user_for_token(value.strip())
                if token_user is not None:
                    scope = {**scope, "user": token_user}
        return await self.app(scope, receive, send)


def _bearer(scope) -> bool:
    headers = dict(scope.get("headers") or [])
    scheme, _sep, value = headers.get(b"authorization", b"").decode("latin1").partition(" ")
    return scheme.lower() == "bearer" and bool(value.strip())


def bearer_or_same_origin(app, origin_validator):
    """``app`` behind ``origin_validator`` for browsers; as is for a client authenticating with a bearer token
    (a page of another site cannot set that header on a websocket, so the Origin check protects nothing there)."""
    validated = origin_validator(app)

    async def route(scope, receive, send):
        target = app if _bearer(scope) else validated
        return await target(scope, receive, send)

    return route
