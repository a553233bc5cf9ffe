"""Handing committed messages to a worker without making the request wait on the broker.

The request's ``on_commit`` puts the ids on a queue; a thread of the process sends the Celery tasks. When the
broker is slow or down nothing waits on it but that thread, and the sweeper re-queues whatever never reached
a worker. Without a broker (development, tests, the embedded demo) the message is delivered in line instead.
"""

from __future__ import annotations

import logging
import os
import queue
import threading

logger = logging.getLogger(__name__)


def _eager() -> bool:
    from federation.outbox.tasks import outbox_deliver_task

    return bool(outbox_deliver_task.app.conf.task_always_eager)


class Kicker:
    def __init__(self):
        self._queue: queue.SimpleQueue[tuple[int, float | None]] = queue.SimpleQueue()
        self._pid = 0
        self._lock = threading.Lock()

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:  # first use in this process, or in a child forked after it
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                threading.Thread(target=self._run, name="outbox-kicker", daemon=True).start()
                self._pid = os.getpid()

    def _run(self) -> None:
        from federation.outbox.tasks import outbox_deliver_task

        while True:
            message_id, countdown = self._queue.get()
            try:
                outbox_deliver_task.apply_async(args=[message_id], countdown=countdown, retry=False)
            except Exception:  # the sweeper queues it again
                logger.warning("outbox message %s not queued (broker unreachable); the sweeper will", message_id)

    def kick(self, message_ids: list[int]) -> None:
        if _eager():
            from federation.outbox.services import outbox_deliver

            for message_id in message_ids:
                try:
                    outbox_deliver(message_id=message_id)
                except Exception:  # recorded on the message; never the caller's problem
                    logger.exception("outbox message %s: delivery failed", message_id)
            return
        self._ensure_thread()
        for message_id in message_ids:
            self._queue.put((message_id, None))

    def later(self, message_id: int, *, seconds: float) -> None:
        """A retry's task, due in ``seconds`` (with a worker only; in line, the sweeper retries)."""
        if not _eager():
            self._ensure_thread()
            self._queue.put((message_id, max(0.0, seconds)))


kicker = Kicker()
