"""Order statistics the dashboard reports: median and 90th percentile, interpolated like PostgreSQL's
``percentile_cont``, and shares rounded the same way everywhere (page, API and exports)."""

from __future__ import annotations

import math


def percentile(values: list[float], fraction: float) -> float | None:
    """``percentile_cont(fraction)`` of ``values``, in minutes to one decimal; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 1)


def share(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator`` to four decimals (a percentage to two); None when nothing was counted."""
    return round(numerator / denominator, 4) if denominator else None


def minutes_between(start, end) -> float:
    return (end - start).total_seconds() / 60
