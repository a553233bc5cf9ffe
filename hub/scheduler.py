"""The periodic jobs (``CELERY_BEAT_SCHEDULE``) run inside ``manage.py serve`` when there is no broker.

Without a broker Celery runs tasks inline and nothing runs Celery beat, so SLA escalation, the sites' sync and
the other periodic jobs would never happen (``make demo``). ``EmbeddedScheduler`` is a daemon thread of the
server that runs each job as beat would (same schedule, same tasks, one at a time, each run in the thread
with its own database connection); with a broker, beat runs them (``deploy/Procfile``) and this stays off.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from celery.schedules import schedule as every_schedule
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger(__name__)
FIRST_RUN_SECONDS = 2.0  # each job runs once soon after start (work due while the hub was down), then on schedule
IDLE_SECONDS = 30.0


def embedded_schedule_wanted() -> bool:
    """Whether this process must run the periodic jobs itself: tasks run inline, so no beat could send them."""
    return bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)) and bool(
        getattr(settings, "CELERY_BEAT_SCHEDULE", None)
    )


def _as_schedule(value):
    if isinstance(value, int | float):
        return every_schedule(timedelta(seconds=value))
    if isinstance(value, timedelta):
        return every_schedule(value)
    return value  # a celery schedule (crontab, solar, ...)


class EmbeddedScheduler(threading.Thread):
    """Runs ``entries`` (``{name: {"task": ..., "schedule": ..., "args": ..., "kwargs": ...}}``) until stopped."""

    def __init__(self, entries: dict, *, first_run_seconds: float = FIRST_RUN_SECONDS):
        super().__init__(name="hub-embedded-scheduler", daemon=True)
        self.entries = {name: dict(entry, schedule=_as_schedule(entry["schedule"])) for name, entry in entries.items()}
        self.stopping = threading.Event()
        self.runs: dict[str, int] = dict.fromkeys(self.entries, 0)
        self.first_run_seconds = first_run_seconds

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout)

    def start(self) -> None:
        from hub.celery import app

        # The tasks' modules, imported here in the caller's thread: Celery's Django fix-up sets Django (and its
        # logging) up again on import, which is no business of a thread while others log.
        app.loader.import_default_modules()
        super().start()

    def run(self) -> None:
        from hub.celery import app

        start = timezone.now()
        # Each job first runs shortly after start (staggered a little), then every interval after its last run.
        last: dict[str, datetime | None] = dict.fromkeys(self.entries)
        first_due = {
            name: start + timedelta(seconds=self.first_run_seconds + 0.2 * i) for i, name in enumerate(self.entries)
        }
        while not self.stopping.is_set():
            now = timezone.now()
            wait = IDLE_SECONDS
            for name, entry in self.entries.items():
                if self.stopping.is_set():
                    return
                if last[name] is None:
                    remaining = (first_due[name] - now).total_seconds()
                    due = remaining <= 0
                else:
                    due, remaining = entry["schedule"].is_due(last[name])
                if due:
                    last[name] = timezone.now()
                    self._run(name, entry, app)
                    _due, remaining = entry["schedule"].is_due(last[name])
                wait = min(wait, max(remaining, 0.05))
            self.stopping.wait(wait)

    def _run(self, name: str, entry: dict, app) -> None:
        task = app.tasks.get(entry["task"])
        if task is None:
            logger.warning("Periodic job %s: no task %s", name, entry["task"])
            return
        close_old_connections()
        try:
            task.apply(args=entry.get("args") or (), kwargs=entry.get("kwargs") or {}, throw=True)
            self.runs[name] += 1
        except Exception:  # one job's failure must not stop the others
            logger.exception("Periodic job %s (%s) failed", name, entry["task"])
        finally:
            close_old_connections()


def embedded_scheduler_start() -> EmbeddedScheduler | None:
    """Start the scheduler thread when this process must run the periodic jobs (see ``embedded_schedule_wanted``)."""
    if not embedded_schedule_wanted():
        return None
    scheduler = EmbeddedScheduler(settings.CELERY_BEAT_SCHEDULE)
    scheduler.start()
    return scheduler
