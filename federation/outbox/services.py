"""Writing messages to the outbox, delivering them, sweeping up the forgotten ones, re-sending dead letters."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from federation.outbox.breaker import breaker_failure, breaker_open, breaker_success
from federation.outbox.kick import kicker
from federation.outbox.models import MessageState, OutboxMessage
from federation.outbox.policy import RetryPolicy
from federation.outbox.registry import GiveUp, Retry, handler_for

logger = logging.getLogger(__name__)
OPEN = (MessageState.PENDING, MessageState.SENDING)


def _conf(name: str, default: float) -> float:
    return float((getattr(settings, "OUTBOX", {}) or {}).get(name, default))


def lease_seconds() -> float:
    """How long a worker holds a message it is sending before the sweeper may give it to another."""
    return _conf("lease_seconds", 60)


def outbox_enqueue(
    *,
    kind: str,
    destination: str,
    payload: dict,
    ordering_key: str = "",
    event_id: uuid.UUID | str | None = None,
    site_code: str = "",
    subject: str = "",
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Write a message in the caller's transaction; it is handed to a worker once that commits.

    An ``event_id`` already in the outbox is not written twice (the existing message is returned).
    """
    now = timezone.now()
    message = OutboxMessage(
        event_id=uuid.UUID(str(event_id)) if event_id else uuid.uuid4(),
        kind=kind,
        destination=destination,
        ordering_key=ordering_key,
        site_code=site_code,
        subject=subject[:200],
        payload=payload,
        retry_from=now,
        next_attempt_at=max(now, not_before or now),
        queued_at=now,
    )
    OutboxMessage.objects.bulk_create([message], ignore_conflicts=True)
    message = OutboxMessage.objects.get(event_id=message.event_id)
    if message.state == MessageState.PENDING and message.next_attempt_at <= now:
        message_id = message.pk
        transaction.on_commit(lambda: kicker.kick([message_id]), robust=True)
    return message


def _recorded(message: OutboxMessage) -> None:
    handler = handler_for(message.kind)
    if handler and handler.recorded:
        handler.recorded(message)


def _claim(message_id: int, now: datetime) -> tuple[OutboxMessage | None, str]:
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=message_id).first()
        if message is None:
            return None, "busy"
        if message.state in (MessageState.DELIVERED, MessageState.DEAD):
            return None, message.state
        if message.state == MessageState.SENDING and message.locked_until and message.locked_until > now:
            return None, "busy"
        if message.state == MessageState.PENDING and message.next_attempt_at > now:
            return None, "not due"
        if (
            message.ordering_key
            and OutboxMessage.objects.filter(
                ordering_key=message.ordering_key, state__in=OPEN, pk__lt=message.pk
            ).exists()
        ):
            return None, "waiting"  # an earlier message of its ordering key kicks it once done
        if handler_for(message.kind) is None:
            message.state, message.queued_at = MessageState.PENDING, None
            message.next_attempt_at = now + timedelta(seconds=lease_seconds())
            message.last_error = f"no delivery handler for {message.kind!r} in this process"
            message.save(update_fields=["state", "queued_at", "next_attempt_at", "last_error"])
            return None, "no handler"
        breaker = breaker_open(message.destination, now=now)
        if breaker:
            message.state, message.queued_at, message.next_attempt_at = MessageState.PENDING, None, breaker.open_until
            message.last_error = (
                f"not sent: {message.destination} keeps failing ({breaker.last_error}); "
                f"next try after {breaker.open_until.isoformat(timespec='seconds')}"
            )[:4000]
            message.save(update_fields=["state", "queued_at", "next_attempt_at", "last_error"])
            _recorded(message)
            return None, "breaker open"
        message.state = MessageState.SENDING
        message.attempts += 1
        message.last_attempt_at = now
        message.locked_until = now + timedelta(seconds=lease_seconds())
        message.save(update_fields=["state", "attempts", "last_attempt_at", "locked_until"])
        _recorded(message)
    return message, "claimed"


def outbox_deliver(*, message_id: int, now: datetime | None = None) -> str:
    """One attempt at one message: claim it (briefly locked), send it with no lock held, record the outcome.

    Returns what happened: ``delivered``, ``retry``, ``dead``, or why nothing was sent (``busy``, ``not due``,
    ``waiting`` for an earlier message of its ordering key, ``breaker open``, ``no handler``).
    """
    message, outcome = _claim(message_id, now or timezone.now())
    if message is None:
        return outcome
    handler = handler_for(message.kind)
    result, error, permanent = {}, "", False
    try:
        result = handler.send(message) or {}
    except GiveUp as refusal:
        error, permanent = str(refusal) or type(refusal).__name__, True
    except Exception as failure:  # anything else may pass: retried
        error = str(failure) if isinstance(failure, Retry) else f"{type(failure).__name__}: {failure}"
        logger.warning("outbox %s %s to %s failed: %s", message.kind, message.pk, message.destination, error)
    outcome, retry_at = _record(message, result=result, error=error, permanent=permanent)
    if outcome in ("delivered", "dead") and message.ordering_key:
        _kick_next(message.ordering_key)
    elif outcome == "retry" and retry_at:
        kicker.later(message.pk, seconds=(retry_at - timezone.now()).total_seconds())
    return outcome


def _record(sent: OutboxMessage, *, result: dict, error: str, permanent: bool) -> tuple[str, datetime | None]:
    now = timezone.now()
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=sent.pk)
        if message.state == MessageState.DELIVERED:
            return "delivered", None  # another worker's attempt got there first
        if error and (message.state != MessageState.SENDING or message.attempts != sent.attempts):
            return "superseded", None  # the sweeper gave it to another worker meanwhile: that attempt's outcome counts
        message.locked_until = None
        if not error:
            message.state, message.delivered_at, message.result = MessageState.DELIVERED, now, result
            message.last_error = ""
            breaker_success(message.destination)
        else:
            message.last_error = error[:4000]
            policy = RetryPolicy.outbox()
            if permanent or policy.gives_up(since=message.retry_from, now=now):
                message.state, message.dead_at = MessageState.DEAD, now
                hours = (now - message.retry_from).total_seconds() / 3600
                message.dead_reason = (
                    f"refused: {error}"
                    if permanent
                    else f"gave up after {message.attempts} attempts in {hours:.1f} h; last error: {error}"
                )[:4000]
            else:
                message.state, message.queued_at = MessageState.PENDING, None
                message.next_attempt_at = policy.next_attempt(attempt=message.attempts, now=now)
            if not permanent:
                breaker_failure(message.destination, error=error, now=now)
        message.save()
        _recorded(message)
    outcome = {"delivered": "delivered", "dead": "dead"}.get(message.state, "retry")
    return outcome, message.next_attempt_at if outcome == "retry" else None


def _kick_next(ordering_key: str) -> None:
    now = timezone.now()
    following = (
        OutboxMessage.objects.filter(ordering_key=ordering_key, state=MessageState.PENDING, next_attempt_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following:
        OutboxMessage.objects.filter(pk=following).update(queued_at=now)
        kicker.kick([following])


def outbox_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Beat: hand to workers every message that is due and not with a worker (its task lost with a killed
    worker or a restarted broker, a retry whose time has come, a lease that ran out). Returns how many."""
    now = now or timezone.now()
    requeue_before = now - timedelta(seconds=lease_seconds())
    due = (
        Q(state=MessageState.PENDING, next_attempt_at__lte=now)
        & (Q(queued_at__isnull=True) | Q(queued_at__lte=requeue_before))
    ) | Q(state=MessageState.SENDING, locked_until__lte=now)
    ids = list(OutboxMessage.objects.filter(due).order_by("pk").values_list("pk", flat=True)[:limit])
    if ids:
        OutboxMessage.objects.filter(pk__in=ids).update(queued_at=now)
        kicker.kick(ids)
    return len(ids)


def outbox_purge(*, now: datetime | None = None) -> int:
    """Delete delivered messages older than ``OUTBOX["keep_days"]`` (dead letters stay until re-sent)."""
    cutoff = (now or timezone.now()) - timedelta(days=_conf("keep_days", 30))
    deleted, _by_model = OutboxMessage.objects.filter(state=MessageState.DELIVERED, delivered_at__lt=cutoff).delete()
    return deleted


def outbox_resend(*, message_id: int) -> OutboxMessage:
    """A dead letter (or a waiting message) goes out again now, with a fresh give-up window.

    Raises ``OutboxMessage.DoesNotExist`` for a message that is delivered or being sent."""
    now = timezone.now()
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(
            pk=message_id, state__in=(MessageState.DEAD, MessageState.PENDING)
        )
        message.state = MessageState.PENDING
        message.retry_from = message.next_attempt_at = message.queued_at = now
        message.dead_at, message.dead_reason = None, ""
        message.save()
        _recorded(message)
        transaction.on_commit(lambda: kicker.kick([message.pk]), robust=True)
    return message
