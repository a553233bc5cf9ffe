"""Small per-process caches of rows every new request reads (SLA policies, target sites, departments).

An entry lives at most ``SECONDS``; a save or delete of the cached model in this process clears the cache at
once (signals, connected in ``apps.ready``), and another process's change is seen within ``SECONDS`` (as the
bearer-token cache in ``hub.accounts``). While a write of this process is not committed yet the cache is
neither read nor filled, so that a rolled-back write never leaves a stale entry behind: after a rollback it
stays bypassed in that process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.db import transaction

SECONDS = 10.0


class ProcessCache:
    def __init__(self, name: str):
        self.name = name
        self._entries: dict[Hashable, tuple[Any, float]] = {}
        self._generation = 0
        self._uncommitted = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry[1] < SECONDS and not self._uncommitted:
            return entry[0]
        generation = self._generation
        value = load()
        with self._lock:
            if generation == self._generation and not self._uncommitted:
                if len(self._entries) > 1000:
                    self._entries.clear()
                self._entries[key] = (value, now)
        return value

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def written(self, sender=None, using=None, **kwargs) -> None:
        """A row of the cached model saved or deleted: clear now, and again once it is committed."""
        with self._lock:
            self._generation += 1
            self._uncommitted += 1
            self._entries.clear()

        def committed() -> None:
            with self._lock:
                self._generation += 1
                self._uncommitted -= 1
                self._entries.clear()

        transaction.on_commit(committed, using=using)


sla_targets = ProcessCache("sla_targets")
general_sites = ProcessCache("general_sites")
departments = ProcessCache("departments")


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    from federation.sites.models import Department, Site
    from hub.referrals.models import SlaPolicy

    for cache, model in ((sla_targets, SlaPolicy), (general_sites, Site), (departments, Department)):
        post_save.connect(cache.written, sender=model, dispatch_uid=f"referrals-{cache.name}-save")
        post_delete.connect(cache.written, sender=model, dispatch_uid=f"referrals-{cache.name}-delete")
