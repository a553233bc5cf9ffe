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
    # Deletions by type, in time order: (lastUpdated of the deletion, id, versionId of the tombstone).
    deleted: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
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

    def delete(self, rtype: str, rid: str) -> bool:
        """Delete ``rtype/rid`` (a new, deleted version); False when it is not there."""
        with self.lock:
            previous = self.resources.get(rtype, {}).pop(rid, None)
            if previous is None:
                return False
            order = self.order[rtype]
            del order[bisect.bisect_left(order, (previous["meta"]["lastUpdated"], rid))]
            version = str(int(previous["meta"]["versionId"]) + 1)
            self.deleted.setdefault(rtype, []).append((_instant(self._tick()), rid, version))
            return True

    def history(
        self, rtype: str, *, since: str | None, after: tuple[str, str] | None, count: int
    ) -> list[tuple[str, str, dict | None]]:
        """Type-level history from ``since`` in time order: ``(lastUpdated, id, resource or None if deleted)``.

        Only each record's latest version, and its deletion, are kept here (enough for a sync to learn
        of changes and deletions; http://hl7.org/fhir/R4/http.html#history)."""
        with self.lock:
            events = [(lu, rid, self.resources[rtype][rid]) for lu, rid in self.order.get(rtype, [])]
            events += [(lu, rid, None) for lu, rid, _version in self.deleted.get(rtype, [])]
        events.sort(key=lambda event: (event[0], event[1]))
        if since:
            bound = _instant(parse_instant(since))
            events = [event for event in events if event[0] >= bound]
        if after is not None:
            events = [event for event in events if (event[0], event[1]) > after]
        return events[:count]

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
