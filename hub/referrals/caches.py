"""Small per-process caches of rows every new request reads (SLA policies, target sites, departments).

An entry lives at most ``SECONDS``; a save or delete of the cached model in this process clears the cache at
once (signals, connected in ``apps.ready``), and another process's change is seen within ``SECONDS`` (as the
bearer-token cache in ``hub.accounts``). While a thread's transaction holds a write of a cached model, that
thread neither reads nor fills the cache (it must see its own write); when that transaction ends, committed
or rolled back, the cache is cleared, so a rolled-back write never leaves an entry behind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.db import connection, transaction

SECONDS = 10.0


class ProcessCache:
    def __init__(self, name: str):
        self.name = name
        self._entries: dict[Hashable, tuple[Any, float]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self._local = threading.local()  # set while this thread's transaction holds a write of the model

    def _bypassed(self) -> bool:
        if not getattr(self._local, "writing", False):
            return False
        if connection.in_atomic_block:
            return True
        # The writing transaction has ended, committed (then ``committed`` has cleared) or rolled back.
        self._local.writing = False
        self.clear()
        return False

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        if self._bypassed():
            return load()
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry[1] < SECONDS:
            return entry[0]
        generation = self._generation
        value = load()
        with self._lock:
            if generation == self._generation:
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
        self.clear()
        if connection.in_atomic_block:
            self._local.writing = True
        transaction.on_commit(self._committed, using=using)

    def _committed(self) -> None:
        self._local.writing = False  # on_commit callbacks run in the committing thread
        self.clear()


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
