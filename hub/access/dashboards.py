"""Who sees which part of the network dashboard: officials and the hub's administrators every site, a site's
administrator their own; nobody a patient (the dashboard is aggregates only)."""

from __future__ import annotations

from federation.sites.constants import SiteKind
from hub.access.actors import user_kind
from hub.access.constants import ActorKind


def sees_dashboard(user) -> bool:
    """Whether ``user`` may open the dashboard at all (page, API, exports)."""
    kind = user_kind(user)
    if kind in (ActorKind.SUPERUSER, ActorKind.OFFICIAL):
        return True
    return kind == ActorKind.SITE_ADMIN and user.site is not None and user.site.kind != SiteKind.ALLIANCE


def dashboard_sites(user) -> tuple:
    """The hospitals ``user`` may see on the dashboard (never the alliance itself); empty for everyone else."""
    from federation.sites.models import Site

    if not sees_dashboard(user):
        return ()
    if user_kind(user) in (ActorKind.SUPERUSER, ActorKind.OFFICIAL):
        return tuple(Site.objects.exclude(kind=SiteKind.ALLIANCE).order_by("kind", "code"))
    return (user.site,)


def dashboard_default_site(user) -> str:
    """The site a dashboard opens on when none is asked for: a site administrator's own, else the alliance."""
    return user.site.code if user_kind(user) == ActorKind.SITE_ADMIN else ""
