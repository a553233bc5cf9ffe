"""The rules of the hub's and the federation's own (non-FHIR) endpoints."""

from __future__ import annotations

from federation.hooks import SITE_HEALTH
from hub.access.actors import user_kind
from hub.access.constants import ActorKind


def federation_endpoint_allowed(request, action: str) -> bool | None:
    """``federation.hooks.endpoint_policies`` entry."""
    kind = user_kind(getattr(request, "user", None))
    if action == SITE_HEALTH:
        # The sites' sync state, lag and errors: for those who run the network, not for clinicians.
        return kind in (ActorKind.SITE_ADMIN, ActorKind.SUPERUSER, ActorKind.AUDITOR)
    return None


def oauth_applications_allowed(user) -> bool:
    """The OAuth application registration pages (site systems' clients): the hub's administrators only."""
    return user_kind(user) == ActorKind.SUPERUSER


def metrics_allowed(request, *, token: str) -> bool:
    """``/metrics``: scrapers only: the ``HUB_METRICS_TOKEN`` bearer token, or without one a caller on this host."""
    return scraper_allowed(
        authorization=request.headers.get("Authorization", ""), address=request.META.get("REMOTE_ADDR", ""), token=token
    )


def scraper_allowed(*, authorization: str, address: str, token: str) -> bool:
    """The rule of every metrics endpoint (the web's ``/metrics``, the ingest's and the workers' own)."""
    import hmac
    import ipaddress

    if token:
        scheme, _sep, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
