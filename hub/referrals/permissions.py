"""Who may see a request and who may act on it: the rules live in ``hub.access.referrals`` (the one home of
access rules); this module keeps the names the workflow's services import."""

from hub.access.referrals import (
    can_view,
    check_fulfiller,
    check_owner,
    check_requester,
    check_requesting_side,
    check_view,
    is_fulfiller_candidate,
    is_participant,
)

__all__ = [
    "can_view",
    "check_fulfiller",
    "check_owner",
    "check_requester",
    "check_requesting_side",
    "check_view",
    "is_fulfiller_candidate",
    "is_participant",
]
