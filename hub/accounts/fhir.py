"""How the hub's users appear to the FHIR gateway."""

from __future__ import annotations

from fhir_gateway.context import USER, Actor
from hub.accounts.constants import TOKEN_PREFIX
from hub.accounts.services import api_token_authenticate


def actor_from_request(request) -> Actor | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return actor_of(user)


def actor_from_token(raw: str) -> Actor | None:
    """``hooks.token_resolvers`` entry: the hub's own API tokens (``ahub_...``)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    user = api_token_authenticate(raw)
    return actor_of(user) if user is not None else None


def actor_of(user) -> Actor:
    return Actor(
        kind=USER,
        id=str(user.pk),
        display=user.display_name or user.username,
        site=user.site.code if user.site_id else "",
    )
