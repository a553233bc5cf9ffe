"""Models of the federation app, defined per sub-domain and collected here for Django."""

from federation.auth.models import SiteClient
from federation.identity.models import GoldenRecord, LinkEvent, MatchReview, MpiBlockKey, MpiRecord
from federation.sites.models import Department, Site
from federation.sites.sync_config import SiteSync
from federation.sync.models import DeadLetter, SyncCursor, SyncRun

__all__ = [
    "DeadLetter",
    "Department",
    "GoldenRecord",
    "LinkEvent",
    "MatchReview",
    "MpiBlockKey",
    "MpiRecord",
    "Site",
    "SiteClient",
    "SiteSync",
    "SyncCursor",
    "SyncRun",
]
