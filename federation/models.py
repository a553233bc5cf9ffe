"""Models of the federation app, defined per sub-domain and collected here for Django."""

from federation.identity.models import GoldenRecord, LinkEvent, MatchReview, MpiBlockKey, MpiRecord
from federation.sites.models import Department, Site

__all__ = ["Department", "GoldenRecord", "LinkEvent", "MatchReview", "MpiBlockKey", "MpiRecord", "Site"]
