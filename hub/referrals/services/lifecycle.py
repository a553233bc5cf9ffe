"""The responsible specialist's steps after accepting (start, hold, resume, fail) and the requester's cancel."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.referrals.models import Referral
from hub.referrals.permissions import check_owner, check_requester
from hub.referrals.services.common import (
    referral_lock,
    referral_notify,
    requesting_side,
    transition_check,
    transition_record,
)
from hub.referrals.services.workflow import reason_required


def _owner_step(*, referral_id: int, actor, action: str, reason: str = "", now: datetime | None) -> Referral:
    now = now or timezone.now()
    referral = referral_lock(referral_id=referral_id)
    check_owner(actor, referral)
    before = referral.status
    referral.status = transition_check(referral=referral, action=action)
    transition_record(referral=referral, action=action, actor=actor, now=now, reason=reason, from_status=before)
    return referral


@transaction.atomic
def task_start(*, referral_id: int, actor, now: datetime | None = None) -> Referral:
    return _owner_step(referral_id=referral_id, actor=actor, action="start", now=now)


@transaction.atomic
def task_hold(*, referral_id: int, actor, reason: str, now: datetime | None = None) -> Referral:
    return _owner_step(referral_id=referral_id, actor=actor, action="hold", reason=reason_required(reason), now=now)


@transaction.atomic
def task_resume(*, referral_id: int, actor, now: datetime | None = None) -> Referral:
    return _owner_step(referral_id=referral_id, actor=actor, action="resume", now=now)


@transaction.atomic
def task_fail(*, referral_id: int, actor, reason: str, now: datetime | None = None) -> Referral:
    """The consultation could not be done (e.g. the link failed, the patient was transferred elsewhere)."""
    referral = _owner_step(referral_id=referral_id, actor=actor, action="fail", reason=reason_required(reason), now=now)
    referral_notify(
        referral=referral,
        event="referral.failed",
        recipients=requesting_side(referral),
        title=_("The consultation could not be completed"),
        body=reason,
    )
    return referral


@transaction.atomic
def referral_cancel(*, referral_id: int, actor, reason: str, now: datetime | None = None) -> Referral:
    """Only the requester cancels."""
    now = now or timezone.now()
    reason = reason_required(reason)
    referral = referral_lock(referral_id=referral_id)
    check_requester(actor, referral)
    before = referral.status
    referral.status = transition_check(referral=referral, action="cancel")
    referral.sla_due_at = None
    transition_record(referral=referral, action="cancel", actor=actor, now=now, reason=reason, from_status=before)
    recipients = [p.user for p in referral.participants.select_related("user").filter(active=True)]
    referral_notify(
        referral=referral,
        event="referral.cancelled",
        recipients=[u for u in recipients if u != actor],
        title=_("Request cancelled"),
        body=reason,
    )
    return referral
