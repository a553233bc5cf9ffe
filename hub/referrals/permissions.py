"""Who may see a request and who may act on it: the checks every service and view relies on."""

from __future__ import annotations

from django.utils.translation import gettext as _

from hub.accounts.constants import Role
from hub.api_errors import ForbiddenError, NotFoundError
from hub.referrals.constants import ReferralKind, TaskStatus
from hub.referrals.models import Referral


def is_fulfiller_candidate(user, referral: Referral) -> bool:
    """The responsible person, or anyone of the team the request is routed to (its department queue)."""
    if referral.owner_id == user.pk:
        return True
    if user.site_id != referral.target_site_id or user.role not in (Role.SPECIALIST, Role.COUNTY_DOCTOR):
        return False
    if referral.kind == ReferralKind.DOWN:
        return referral.target_department_id is None or user.department_id == referral.target_department_id
    return referral.target_department_id is not None and user.department_id == referral.target_department_id


def is_participant(user, referral: Referral) -> bool:
    return referral.participants.filter(user=user, active=True).exists()


def can_view(user, referral: Referral) -> bool:
    if not user.is_authenticated or user.role not in (Role.COUNTY_DOCTOR, Role.SPECIALIST):
        return False
    if user.site_id == referral.requesting_site_id:
        return True
    if referral.status == TaskStatus.DRAFT:
        return False
    return is_fulfiller_candidate(user, referral) or is_participant(user, referral)


def check_view(user, referral: Referral) -> None:
    """Refuse as if the request did not exist: its existence is itself patient information."""
    if not can_view(user, referral):
        raise NotFoundError(_("No such referral."))


def check_fulfiller(user, referral: Referral) -> None:
    check_view(user, referral)
    if not is_fulfiller_candidate(user, referral):
        raise ForbiddenError(_("Only the specialist or team the request is routed to may do this."))


def check_owner(user, referral: Referral) -> None:
    check_view(user, referral)
    if referral.owner_id != user.pk:
        raise ForbiddenError(_("Only the specialist responsible for the request may do this."))


def check_requester(user, referral: Referral) -> None:
    check_view(user, referral)
    if referral.requester_id != user.pk:
        raise ForbiddenError(_("Only the requesting doctor may do this."))


def check_requesting_side(user, referral: Referral) -> None:
    """The requester or a colleague of the requesting site (e.g. answering a request for information)."""
    check_view(user, referral)
    if user.site_id != referral.requesting_site_id:
        raise ForbiddenError(_("Only the requesting site may do this."))
