"""FHIR dates and times as people read them (local time, minutes), and as charts plot them (epoch ms)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def parse(value) -> datetime | date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is not None:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return timezone.localtime(moment)
    try:
        return parse_date(value[:10]) if len(value) >= 10 else None
    except ValueError:
        return None


def shown(value) -> str:
    """``2026-12-03 08:15`` (local time), or the date alone, or the text as given (a year, a month)."""
    moment = parse(value)
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%d %H:%M")
    if isinstance(moment, date):
        return moment.isoformat()
    return str(value or "")


def sort_key(value) -> str:
    """A key that orders FHIR dates and date-times together (UTC ISO text)."""
    moment = parse(value)
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).isoformat()
    if isinstance(moment, date):
        return moment.isoformat()
    return ""


def epoch_ms(value) -> int | None:
    moment = parse(value)
    if isinstance(moment, datetime):
        return int(moment.timestamp() * 1000)
    if isinstance(moment, date):
        return int(
            datetime(moment.year, moment.month, moment.day, tzinfo=timezone.get_current_timezone()).timestamp() * 1000
        )
    return None


def effective(resource: dict) -> str:
    """When a clinical record happened (its effective/onset/authored/period start, else when it was issued)."""
    for key in (
        "effectiveDateTime",
        "onsetDateTime",
        "authoredOn",
        "occurrenceDateTime",
        "recordedDate",
        "date",
        "started",
        "createdDateTime",
        "issued",
        "performedDateTime",
    ):
        if resource.get(key):
            return str(resource[key])
    for key in ("effectivePeriod", "period", "performedPeriod", "onsetPeriod"):
        period = resource.get(key)
        if isinstance(period, dict) and period.get("start"):
            return str(period["start"])
    return ""


def age_years(birth_date: str, today: date | None = None) -> int | None:
    born = parse(birth_date)
    if not isinstance(born, date):
        return None
    if isinstance(born, datetime):
        born = born.date()
    today = today or timezone.localdate()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
