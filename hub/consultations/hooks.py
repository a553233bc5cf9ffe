"""How the referral workflow opens and ends rooms, without the workflow knowing about rooms.

Every step of a request is a ``Transition`` row written in the step's transaction; a room opens (in that
transaction) when an emergency request is submitted and when a remote consultation is accepted, and ends
when the request completes, is cancelled, fails or is rejected.
"""

from __future__ import annotations

from django.db.models.signals import post_save

from hub.referrals.constants import ReferralKind, TaskStatus, Urgency

ENDING = frozenset({TaskStatus.COMPLETED, TaskStatus.CANCELLED, TaskStatus.FAILED, TaskStatus.REJECTED})


def should_open(*, referral, action: str) -> bool:
    if action in ("submit", "escalate") and referral.urgency == Urgency.EMERGENCY:
        return True
    return action == "accept" and referral.kind in (ReferralKind.CONSULTATION, ReferralKind.DIAGNOSIS)


def on_transition(sender, instance, created: bool, **kwargs) -> None:
    if not created:
        return
    from hub.consultations.services import room_end_for_referral, room_open_for_referral

    referral = instance.referral
    if instance.to_status in ENDING:
        room_end_for_referral(referral=referral, now=instance.at)
    elif should_open(referral=referral, action=instance.action):
        # An acceptance's notification comes after this and carries the room's link; a new emergency's
        # routing notification went out before its room existed, so the room is announced on its own.
        room_open_for_referral(referral=referral, announce=instance.action != "accept", now=instance.at)


def connect() -> None:
    from hub.referrals.models import Transition

    post_save.connect(on_transition, sender=Transition, dispatch_uid="consultations.on_transition")
