"""The simulated county site's records: an in-memory, versioned FHIR store with a strictly rising clock.

Searches page with a keyset (``lastUpdated``, id) so that paging stays correct while records change.
"""

from __future__ import annotations

import bisect
import copy
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_instant(value: str) -> datetime:
    value = value.strip().replace("Z", "+00:00")
    if len(value) == 10:
        value += "T00:00:00+00:00"
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class SimStore:
    """Resources by type and id; ``order[type]`` holds (lastUpdated, id) sorted for paging."""

    resources: dict[str, dict[str, dict]] = field(default_factory=dict)
    order: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _clock: datetime = field(default_factory=lambda: datetime.now(UTC))

    def _tick(self) -> datetime:
        now = datetime.now(UTC)
        self._clock = now if now > self._clock else self._clock + timedelta(microseconds=1)
        return self._clock

    def put(self, resource: dict) -> dict:
        """Store a new version of ``resource`` (which carries its id) and return it as stored."""
        with self.lock:
            rtype, rid = resource["resourceType"], resource["id"]
            by_id = self.resources.setdefault(rtype, {})
            order = self.order.setdefault(rtype, [])
            previous = by_id.get(rid)
            if previous is not None:
                key = (previous["meta"]["lastUpdated"], rid)
                del order[bisect.bisect_left(order, key)]
            stored = copy.deepcopy(resource)
            version = int(previous["meta"]["versionId"]) + 1 if previous else 1
            stored["meta"] = {
                **(stored.get("meta") or {}),
                "versionId": str(version),
                "lastUpdated": _instant(self._tick()),
            }
            by_id[rid] = stored
            bisect.insort(order, (stored["meta"]["lastUpdated"], rid))
            return stored

    def get(self, rtype: str, rid: str) -> dict | None:
        with self.lock:
            return self.resources.get(rtype, {}).get(rid)

    def page(
        self, rtype: str, *, since: str | None, after: tuple[str, str] | None, count: int
    ) -> tuple[list[dict], int]:
        """Up to ``count`` of ``rtype`` updated at or after ``since``, past keyset ``after``; and the total."""
        with self.lock:
            order = self.order.get(rtype, [])
            start = bisect.bisect_left(order, (_instant(parse_instant(since)), "")) if since else 0
            total = len(order) - start
            if after is not None:
                start = max(start, bisect.bisect_right(order, after))
            keys = order[start : start + count]
            by_id = self.resources[rtype] if keys else {}
            return [by_id[rid] for _lu, rid in keys], total

    def search(self, rtype: str, predicate) -> list[dict]:
        with self.lock:
            return [r for r in self.resources.get(rtype, {}).values() if predicate(r)]

    def count(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.resources.values())
