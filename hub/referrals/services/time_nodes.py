"""Time points of the chest-pain and stroke pathways, kept for the dashboard's comparison with targets."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.api_errors import DomainError
from hub.referrals.constants import TimeNode
from hub.referrals.models import Referral, TimeNodeRecord
from hub.referrals.permissions import check_view


def time_node_put(
    *, referral: Referral, node: str, at: datetime, actor, now: datetime, keep: bool = False
) -> TimeNodeRecord:
    """Record (or correct) one time node; ``keep`` leaves an already recorded one alone."""
    if node not in TimeNode.values:
        raise DomainError(_("Unknown time node: %(node)s") % {"node": node}, code="invalid_time_node")
    if timezone.is_naive(at):
        raise DomainError(_("Time nodes need a time zone."), code="invalid_time_node")
    if at > now + timedelta(minutes=5):
        raise DomainError(_("A time node cannot be in the future."), code="invalid_time_node")
    if keep:
        record, _created = TimeNodeRecord.objects.get_or_create(
            referral=referral, node=node, defaults={"at": at, "recorded_by": actor, "recorded_at": now}
        )
        return record
    record, _created = TimeNodeRecord.objects.update_or_create(
        referral=referral, node=node, defaults={"at": at, "recorded_by": actor, "recorded_at": now}
    )
    return record


@transaction.atomic
def time_nodes_record(*, referral: Referral, nodes: dict[str, datetime], actor, now: datetime | None = None) -> None:
    """A participant records pathway times (e.g. door, first ECG, needle)."""
    now = now or timezone.now()
    check_view(actor, referral)
    for node, at in nodes.items():
        time_node_put(referral=referral, node=node, at=at, actor=actor, now=now)
