"""Websocket authentication: a signed-in browser (session cookie, Origin checked) or a bearer token.

Browsers cannot put an ``Authorization`` header on a websocket handshake, so a handshake that carries one
comes from a program, not from a page another site serves: it is let through without an ``Origin`` (the
README offers Bearer for such clients), with its cookies dropped so that only the token can authenticate it.
Every other handshake must come from an allowed origin, as Channels' ``AllowedHostsOriginValidator`` checks.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator


def _bearer(scope) -> str:
    headers = dict(scope.get("headers") or [])
    scheme, _sep, value = headers.get(b"authorization", b"").decode("latin1").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@database_sync_to_async
def _user_for_token(raw: str):
    from hub.accounts.services import api_token_authenticate

    return api_token_authenticate(raw)


@database_sync_to_async
def _two_factor_pending(user, session) -> bool:
    from hub.accounts.two_factor import two_factor_pending

    return two_factor_pending(user, session)


class BearerOrOriginValidator:
    """Handshakes with a bearer token skip the Origin check (and lose their cookies); the rest are checked."""

    def __init__(self, app):
        self.app = app
        self.checked = AllowedHostsOriginValidator(app)

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "websocket" and _bearer(scope):
            headers = [(name, value) for name, value in scope.get("headers") or [] if name != b"cookie"]
            return await self.app({**scope, "headers": headers}, receive, send)
        return await self.checked(scope, receive, send)


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
            token = _bearer(scope)
            if token:
                token_user = await _user_for_token(token)
                if token_user is not None:
                    scope = {**scope, "user": token_user}
        return await self.app(scope, receive, send)
