"""Reads of the outbox: depths for the metrics, dead letters for site administrators."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from federation.outbox.models import MessageState, OutboxMessage


def outbox_depths() -> list[tuple[str, str, int]]:
    """(kind, state, count) of the messages not yet delivered (``hub_outbox_messages``)."""
    rows = (
        OutboxMessage.objects.exclude(state=MessageState.DELIVERED)
        .values_list("kind", "state")
        .annotate(n=Count("pk"))
        .order_by("kind", "state")
    )
    return [(kind, state, n) for kind, state, n in rows]


def messages_for_sites(site_codes: list[str] | None) -> QuerySet[OutboxMessage]:
    """Messages concerning these sites (None: every message)."""
    messages = OutboxMessage.objects.all()
    return messages if site_codes is None else messages.filter(site_code__in=site_codes)


def dead_letters(site_codes: list[str] | None) -> QuerySet[OutboxMessage]:
    return messages_for_sites(site_codes).filter(state=MessageState.DEAD).order_by("-dead_at", "-pk")


def subject_messages(*, kind: str, subject: str) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(kind=kind, subject=subject).order_by("pk")
