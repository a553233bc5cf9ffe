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
