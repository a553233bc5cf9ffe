"""The R4 websocket channel (http://hl7.org/fhir/R4/subscription.html#2.46.7.2): a client connects, sends
``bind-with-id: <id>`` for each of its websocket Subscriptions, is answered ``bound <id>``, then receives
``ping <id>`` when an event matched (and every ``KEEPALIVE_SECONDS``); it then searches, or asks
``Subscription/<id>/$events`` for what it missed. Only the subscriber may bind; anything else is answered
``error <reason>``, the same whether the Subscription exists or not.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils.translation import gettext as _

from federation.subscriptions.constants import Channel, Status
from federation.subscriptions.delivery import ws_group
from federation.subscriptions.models import Subscription
from federation.subscriptions.subscribers import same_party
from fhir_gateway import hooks
from fhir_gateway.errors import FhirError

UNAUTHENTICATED = 4401
KEEPALIVE_SECONDS = 55
MAX_BINDINGS = 50


def _actor_of(scope):
    """The caller as a gateway actor: a bearer token (a site system's or the hub's), else the signed-in user."""
    headers = dict(scope.get("headers") or [])
    authorization = headers.get(b"authorization", b"").decode("latin1")
    scheme, _sep, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        for resolve in hooks.token_resolvers:
            actor = resolve(token.strip())
            if actor is not None:
                return actor
        return None
    request = SimpleNamespace(user=scope.get("user"), META={})
    for resolve in hooks.actor_resolvers:
        try:
            actor = resolve(request)
        except FhirError:
            return None
        if actor is not None:
            return actor
    return None


def _bindable(actor, fhir_id: str) -> bool:
    subscription = Subscription.objects.filter(fhir_id=fhir_id, channel=Channel.WEBSOCKET).first()
    return subscription is not None and subscription.status == Status.ACTIVE and same_party(actor, subscription)


class SubscriptionConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.actor = await database_sync_to_async(_actor_of)(self.scope)
        self.bound: list[str] = []
        if self.actor is None or not self.actor.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        await self.accept()
        self.keepalive = asyncio.create_task(self._keepalive())

    async def disconnect(self, code):
        if getattr(self, "keepalive", None):
            self.keepalive.cancel()
        for fhir_id in getattr(self, "bound", []):
            await self.channel_layer.group_discard(ws_group(fhir_id), self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        command, _sep, argument = (text_data or "").strip().partition(":")
        fhir_id = argument.strip()
        if command.strip() != "bind-with-id" or not fhir_id or len(fhir_id) > 64:
            await self.send(text_data="error " + _("Send 'bind-with-id: <Subscription id>'."))
            return
        if fhir_id not in self.bound:
            allowed = await database_sync_to_async(_bindable)(self.actor, fhir_id)
            if not allowed or len(self.bound) >= MAX_BINDINGS:
                refusal = _("No active websocket Subscription %(id)s of yours.") % {"id": fhir_id}
                await self.send(text_data=f"error {refusal}")
                return
            await self.channel_layer.group_add(ws_group(fhir_id), self.channel_name)
            self.bound.append(fhir_id)
        await self.send(text_data=f"bound {fhir_id}")

    async def subscription_ping(self, event):
        await self.send(text_data=f"ping {event['id']}")

    async def _keepalive(self):
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            for fhir_id in list(self.bound):
                await self.send(text_data=f"ping {fhir_id}")
