"""The part of the network a dashboard request looks at. Who may see which part is the access rules' to say
(``hub.access.dashboards``); an unknown site or department and one out of reach answer alike."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from federation.sites.models import Department, Site
from hub.access.dashboards import dashboard_default_site, dashboard_sites, sees_dashboard
from hub.api_errors import DomainError, ForbiddenError, NotFoundError


@dataclass(frozen=True)
class Scope:
    """Where the dashboard looks: the alliance, one site, or one department of a site."""

    sites: tuple[Site, ...]  # the hospitals the caller may see (never the alliance itself)
    site: Site | None = None
    department: Department | None = None

    @property
    def level(self) -> str:
        return "department" if self.department else "site" if self.site else "alliance"


def dashboard_scope(*, user, site_code: str = "", department_code: str = "") -> Scope:
    """The part of the network ``user`` asks for and may see; ``ForbiddenError`` / ``NotFoundError`` if not."""
    if not sees_dashboard(user):
        raise ForbiddenError(_("The network dashboard is for officials and site administrators."))
    sites = dashboard_sites(user)
    site_code = site_code or dashboard_default_site(user)
    site = None
    if site_code:
        site = next((s for s in sites if s.code == site_code), None)
        if site is None:
            raise NotFoundError(_("No such site."))
    department = None
    if department_code:
        if site is None:
            raise DomainError(_("Choose the site before its department."), code="invalid")
        department = Department.objects.filter(site=site, code=department_code).first()
        if department is None:
            raise NotFoundError(_("No such department."))
    return Scope(sites=sites, site=site, department=department)
