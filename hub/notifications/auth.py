"""Websocket authentication by bearer token, for clients that are not a signed-in browser."""

from __future__ import annotations

from channels.db import database_sync_to_async


@database_sync_to_async
def _user_for_token(raw: str):
    from hub.accounts.services import api_token_authenticate

    return api_token_authenticate(raw)


@database_sync_to_async
def _two_factor_pending(user, session) -> bool:
    from hub.accounts.two_factor import two_factor_pending

    return two_factor_pending(user, session)


class BearerTokenWebsocketMiddleware:
    """Sets ``scope["user"]`` from an ``Authorization: Bearer`` header when the session gave none."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is not None and user.is_authenticated and await _two_factor_pending(user, scope.get("session")):
            # hardening: a session that still owes its second sign-in step is no one's
            from django.contrib.auth.models import AnonymousUser

            user = AnonymousUser()
            scope = {**scope, "user": user}
        if user is None or not user.is_authenticated:
            headers = dict(scope.get("headers") or [])
            scheme, _sep, value = headers.get(b"authorization", b"").decode("latin1").partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                token_user = await _user_for_token(value.strip())
                if token_user is not None:
                    scope = {**scope, "user": token_user}
        return await self.app(scope, receive, send)
