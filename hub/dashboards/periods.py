"""Periods the dashboard reports on, as DHIS2 users pick them, and the buckets of its trends.

A period is named the way the browser's date inputs write it: a day ``2026-11-20``, an ISO week ``2026-W47``,
a month ``2026-11``, a quarter ``2026-Q4``, a year ``2026``; or a custom range of days (``start``, ``end``,
both included). Times are the hub's local time (``TIME_ZONE``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from hub.api_errors import DomainError
from hub.dashboards.constants import MAX_RANGE_DAYS, Interval

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    """Days ``first`` to ``last`` (both included), what the picker called it, and the trend's bucket size."""

    kind: str  # day | week | month | quarter | year | custom
    first: date
    last: date
    interval: str

    @property
    def code(self) -> str:
        return period_code(self.kind, self.first)

    @property
    def starts_at(self) -> datetime:
        return _midnight(self.first)

    @property
    def ends_at(self) -> datetime:
        """The first moment after the period."""
        return _midnight(self.last + timedelta(days=1))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.get_current_timezone())


def _bad(value: str) -> DomainError:
    return DomainError(
        _("Unknown period %(value)s: use 2026-11-20, 2026-W47, 2026-11, 2026-Q4, 2026, or start and end dates.")
        % {"value": value[:40]},
        code="invalid_period",
    )


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def period_code(kind: str, first: date) -> str:
    if kind == "day":
        return first.isoformat()
    if kind == "week":
        year, week, _weekday = first.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "month":
        return f"{first.year}-{first.month:02d}"
    if kind == "quarter":
        return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    if kind == "year":
        return str(first.year)
    return ""


def _default_interval(first: date, last: date) -> str:
    days = (last - first).days + 1
    if days <= 31:
        return Interval.DAY
    if days <= 190:
        return Interval.WEEK
    return Interval.MONTH


def _named(value: str) -> tuple[str, date, date]:
    try:
        if match := _DAY.match(value):
            day = date(int(match[1]), int(match[2]), int(match[3]))
            return "day", day, day
        if match := _WEEK.match(value):
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
            return "week", monday, monday + timedelta(days=6)
        if match := _MONTH.match(value):
            year, month = int(match[1]), int(match[2])
            return "month", date(year, month, 1), _month_end(year, month)
        if match := _QUARTER.match(value):
            year, quarter = int(match[1]), int(match[2])
            return "quarter", date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter)
        if match := _YEAR.match(value):
            year = int(match[1])
            return "year", date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        pass
    raise _bad(value)


def period_parse(
    *, period: str = "", start: date | None = None, end: date | None = None, interval: str = "", today: date
) -> Period:
    """The period asked for; the current quarter when none is. ``DomainError`` for one that cannot be."""
    if start is not None or end is not None:
        if start is None or end is None:
            raise DomainError(_("A custom period needs both a start and an end date."), code="invalid_period")
        kind, first, last = "custom", start, end
    elif period:
        kind, first, last = _named(period.strip())
    else:
        kind, first, last = _named(period_code("quarter", today))
    if last < first:
        raise DomainError(_("The period ends before it starts."), code="invalid_period")
    if (last - first).days + 1 > MAX_RANGE_DAYS or first.year < 2000 or last.year > 2100:
        raise DomainError(
            _("A period spans at most %(days)d days, between 2000 and 2100.") % {"days": MAX_RANGE_DAYS},
            code="invalid_period",
        )
    if interval and interval not in Interval.values:
        raise DomainError(_("Unknown interval: %(value)s") % {"value": interval[:20]}, code="invalid_period")
    return Period(kind=kind, first=first, last=last, interval=interval or _default_interval(first, last))


def bucket_start(day: date, interval: str) -> date:
    """The first day of the trend bucket holding ``day``."""
    if interval == Interval.WEEK:
        return day - timedelta(days=day.weekday())
    if interval == Interval.MONTH:
        return day.replace(day=1)
    if interval == Interval.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return day


def buckets(period: Period) -> list[date]:
    """Every bucket's first day, from the one holding the period's first day to the one holding its last."""
    days, current = [], bucket_start(period.first, period.interval)
    while current <= period.last:
        days.append(current)
        if period.interval == Interval.DAY:
            current += timedelta(days=1)
        elif period.interval == Interval.WEEK:
            current += timedelta(days=7)
        elif period.interval == Interval.MONTH:
            current = _month_end(current.year, current.month) + timedelta(days=1)
        else:
            current = _month_end(current.year, current.month + 2) + timedelta(days=1)
    return days


def bucket_label(first: date, interval: str) -> str:
    return period_code({"day": "day", "week": "week", "month": "month", "quarter": "quarter"}[interval], first)
