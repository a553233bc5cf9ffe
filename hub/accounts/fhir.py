"""How the hub's users appear to the FHIR gateway."""

from __future__ import annotations

from fhir_gateway.context import USER, Actor


def actor_from_request(request) -> Actor | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return Actor(
        kind=USER,
        id=str(user.pk),
        display=user.display_name or user.username,
        site=user.site.code if user.site_id else "",
    )
