"""Models of the federation app, defined per sub-domain and collected here for Django."""

from federation.sites.models import Department, Site

__all__ = ["Department", "Site"]
