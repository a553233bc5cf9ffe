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
from hub.referrals.services.common import referral_lock

EARLIEST_YEAR = 2000


def time_node_check(*, node: str, at: datetime, now: datetime) -> None:
    if node not in TimeNode.values:
        raise DomainError(_("Unknown time node: %(node)s") % {"node": node}, code="invalid_time_node")
    if timezone.is_naive(at):
        raise DomainError(_("Time nodes need a time zone."), code="invalid_time_node")
    if at > now + timedelta(minutes=5):
        raise DomainError(_("A time node cannot be in the future."), code="invalid_time_node")
    if at.year < EARLIEST_YEAR:  # a typo, and before 1901 local times even have odd offsets (+08:05:43)
        raise DomainError(
            _("A time node cannot be before %(year)d.") % {"year": EARLIEST_YEAR}, code="invalid_time_node"
        )


def time_nodes_add(*, referral: Referral, nodes: dict[str, datetime], actor, now: datetime) -> list[TimeNodeRecord]:
    """The first time nodes of a new request, in one insert."""
    for node, at in nodes.items():
        time_node_check(node=node, at=at, now=now)
    rows = [
        TimeNodeRecord(referral=referral, node=n, at=at, recorded_by=actor, recorded_at=now) for n, at in nodes.items()
    ]
    return TimeNodeRecord.objects.bulk_create(rows) if rows else []


def time_node_put(
    *, referral: Referral, node: str, at: datetime, actor, now: datetime, keep: bool = False
) -> TimeNodeRecord:
    """Record (or correct) one time node; ``keep`` leaves an already recorded one alone."""
    time_node_check(node=node, at=at, now=now)
    # Callers hold the request's row lock (or just created it): no concurrent writer of the same node.
    record = TimeNodeRecord.objects.filter(referral=referral, node=node).first()
    if record is None:
        return TimeNodeRecord.objects.create(referral=referral, node=node, at=at, recorded_by=actor, recorded_at=now)
    if not keep:
        record.at, record.recorded_by, record.recorded_at = at, actor, now
        record.save(update_fields=["at", "recorded_by", "recorded_at"])
    return record


@transaction.atomic
def time_nodes_record(*, referral: Referral, nodes: dict[str, datetime], actor, now: datetime | None = None) -> None:
    """A participant records pathway times (e.g. door, first ECG, needle)."""
    now = now or timezone.now()
    referral = referral_lock(referral_id=referral.pk)
    check_view(actor, referral)
    for node, at in nodes.items():
        time_node_put(referral=referral, node=node, at=at, actor=actor, now=now)
