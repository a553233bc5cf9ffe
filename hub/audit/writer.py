"""A background writer for the audit rows of successful reads.

A read costs one indexed SELECT; waiting for its audit row's INSERT and COMMIT would cost more than
the read itself. Such rows are therefore handed to one writer thread per process, which stores them
in batches (at most ``interval`` seconds after the read, one COPY per batch). Writes and
refusals are never deferred: their rows are stored before the response leaves. At a normal exit the
writer drains what it holds; only a hard kill of the process can lose the last fraction of a second
of read rows.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from datetime import datetime
from typing import NamedTuple

import psycopg
from django.db import close_old_connections, connection, transaction

logger = logging.getLogger(__name__)


class BackgroundWriter:
    def __init__(self, *, interval: float = 0.1, max_batch: int = 2000, max_backlog: int = 200_000):
        self.interval = interval
        self.max_batch = max_batch
        self.max_backlog = max_backlog
        self._rows: deque = deque()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.RLock()

    def submit(self, rows: list) -> None:
        if len(self._rows) + len(rows) > self.max_backlog:
            # The database has been unreachable for a long time: write in the caller rather than grow forever.
            self._store(rows)
            return
        with self._lock:
            self._idle.clear()
            self._rows.extend(rows)
        self._ensure_started()
        if len(self._rows) >= self.max_batch:
            self._wake.set()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted row is stored (tests, shutdown)."""
        self._wake.set()
        return self._idle.wait(timeout)

    def _ensure_started(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            # One batch per wake-up, more only while full batches wait: rows that arrive while a batch is
            # being stored wait for the next interval and go together, rather than one COPY per few rows.
            while self._rows:
                batch = [self._rows.popleft() for _ in range(min(len(self._rows), self.max_batch))]
                try:
                    self._store(batch)
                except Exception:
                    logger.exception("audit writer: storing %d rows failed; retrying", len(batch))
                    self._rows.extendleft(reversed(batch))
                    close_old_connections()
                    connection.close()
                    self._wake.wait(1.0)
                    break
                if len(self._rows) < self.max_batch:
                    break
            if not self._rows and not self._idle.is_set():
                # Give the connection back between bursts (to the pool, when there is one).
                connection.close()
                with self._lock:
                    if not self._rows:
                        self._idle.set()

    @staticmethod
    def _store(rows: list) -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
            rows_copy(rows)


class AuditRow(NamedTuple):
    """One ``AuditEvent`` row as stored: the fields in the table's column names (``detail`` as JSON text)."""

    recorded_at: datetime
    actor_kind: str
    actor_id: str
    actor_display: str
    actor_site: str
    action: str
    resource_type: str
    fhir_id: str
    patient: str
    owner: str
    status: int
    success: bool
    detail: str


_COLUMNS = ", ".join(AuditRow._fields)


def _table() -> str:
    from hub.audit.models import AuditEvent

    return AuditEvent._meta.db_table


def rows_copy(rows: list[AuditRow]) -> None:
    """Store audit rows with one ``COPY``: a tenth of ``bulk_create``'s CPU."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        with cursor.copy(f"COPY {_table()} ({_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def row_insert(row: AuditRow) -> None:
    """Store one audit row with one INSERT (outside a transaction: a single round trip)."""
    connection.ensure_connection()
    placeholders = ", ".join(["%s"] * len(AuditRow._fields))
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(f"INSERT INTO {_table()} ({_COLUMNS}) VALUES ({placeholders})", row)


writer = BackgroundWriter()
atexit.register(writer.drain, 5.0)
