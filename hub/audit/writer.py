"""A background writer for the audit rows of successful reads.

A read costs one indexed SELECT; waiting for its audit row's INSERT and COMMIT would cost more than
the read itself. Such rows are therefore appended to the process's journal (``hub.audit.journal``: on disk
before the response leaves, so a killed process loses none) and handed to one writer thread per process,
which stores them in batches (at most ``AUDIT_DEFER_SECONDS`` after the read, one COPY per batch) and then
deletes the journal segment that held them. Writes are recorded in their own transaction, refusals before
the response leaves. A batch the database does not take goes to the durable spool (``hub.audit.spool``: the
segment itself becomes a spool file), retried every few seconds; a segment left by a process that died is
adopted into the spool by the next drain. If the journal cannot be written, the rows are stored in the
request, and if that fails too the request fails. Every ``housekeeping`` seconds the writer also stores
spooled rows and seals the trail (``hub.audit.seals``).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from datetime import datetime
from typing import NamedTuple

import orjson
import psycopg
from django.conf import settings
from django.db import close_old_connections, connection, transaction

from hub.audit.journal import Journal, journal

logger = logging.getLogger(__name__)


class BackgroundWriter:
    def __init__(
        self,
        *,
        interval: float | None = None,
        max_batch: int = 2000,
        max_backlog: int = 200_000,
        housekeeping: float = 5.0,
        journal: Journal | None = journal,
    ):
        self._interval = interval
        self.journal = journal
        self.housekeeping = housekeeping
        self._last_housekeeping = 0.0
        self._active = False  # rows submitted since the last housekeeping
        self.max_batch = max_batch
        self.max_backlog = max_backlog
        self._rows: deque = deque()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.RLock()

    @property
    def interval(self) -> float:
        return self._interval if self._interval is not None else settings.AUDIT_DEFER_SECONDS

    def submit(self, rows: list) -> None:
        if len(self._rows) + len(rows) > self.max_backlog:
            # The database has been unreachable for a long time: write in the caller rather than grow forever.
            self._store_or_spool(rows)
            return
        with self._lock:
            if self.journal is not None:
                try:
                    self.journal.append(rows)
                except OSError as error:
                    logger.warning("audit: the journal did not take %d row(s) (%s); storing them now", len(rows), error)
                    self._store_or_spool(rows)
                    return
            self._idle.clear()
            self._rows.extend(rows)
            self._active = True
        self._ensure_started()
        if len(self._rows) >= self.max_batch:
            self._wake.set()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted row is stored (tests, shutdown)."""
        self._wake.set()
        return self._idle.wait(timeout)

    def shutdown(self, timeout: float = 5.0) -> None:
        """At exit: drain, and spool what the database would not take in time."""
        if not self.drain(timeout):
            with self._lock:
                left, self._rows = list(self._rows), deque()
                segment = self.journal.rotate() if self.journal is not None else None
            if segment is not None:
                segment.spool()
            elif left:
                _spooled(left)
        if self.journal is not None:
            self.journal.close()

    def _take(self) -> tuple[list, object]:
        """Every row held, and the journal segment holding exactly them."""
        with self._lock:
            batch, self._rows = list(self._rows), deque()
            return batch, (self.journal.rotate() if self.journal is not None else None)

    def _store_or_spool(self, rows: list) -> None:
        """Store ``rows`` in the caller; the spool keeps them if the database does not; raises if neither can."""
        try:
            self._store(rows)
        except Exception as error:
            logger.warning("audit: storing %d row(s) failed (%s); spooling them", len(rows), error)
            connection.close()
            from hub.audit.spool import spool_rows

            spool_rows(rows)

    def _ensure_started(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()

    @property
    def backlog(self) -> int:
        return len(self._rows)

    def _housekeep(self) -> None:
        """Store what others could not, and seal the trail (any process may; one at a time)."""
        from hub.audit.seals import audit_seal
        from hub.audit.spool import spool_drain, spool_state

        now = time.monotonic()
        if now - self._last_housekeeping < self.housekeeping:
            return
        self._last_housekeeping = now
        if not self._active and not spool_state()["files"]:
            return  # an idle process: Celery beat (audit.seal) and busier processes keep the chain going
        self._active = False
        try:
            spool_drain()
            audit_seal()
        except Exception as error:
            logger.warning("audit writer: housekeeping failed (%s); retrying", error)
        finally:
            if not self._rows:
                connection.close()  # as between bursts: the connection goes back

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self._housekeep()
            # One batch per wake-up (every row held), more only while a full batch arrived meanwhile: rows that
            # arrive while a batch is being stored wait for the next interval and go together.
            while self._rows:
                batch, segment = self._take()
                try:
                    self._store(batch)
                except Exception as error:
                    logger.warning("audit writer: storing %d rows failed (%s); spooling them", len(batch), error)
                    close_old_connections()
                    connection.close()
                    if segment is not None:
                        segment.spool()  # the journal's file holds exactly these rows
                    elif not _spooled(batch):
                        with self._lock:
                            self._rows.extendleft(reversed(batch))
                        self._wake.wait(1.0)
                    break
                if segment is not None:
                    segment.discard()
                if len(self._rows) < self.max_batch:
                    break
            if not self._rows and not self._idle.is_set():
                # Give the connection back between bursts (to the pool, when there is one).
                connection.close()
                with self._lock:
                    if not self._rows:
                        self._idle.set()

    def _store(self, rows: list) -> None:
        # A durable commit (not synchronous_commit = off): once it returns, the journal segment is deleted.
        with transaction.atomic():
            for start in range(0, len(rows), self.max_batch):
                rows_copy(rows[start : start + self.max_batch])


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


def _spooled(rows: list) -> bool:
    from hub.audit.spool import spool_rows

    try:
        spool_rows(rows)
    except OSError:
        logger.exception("audit writer: spooling %d rows failed; keeping them in memory", len(rows))
        return False
    return True


RESOLVE_OWNER = "?"  # a search's row before it is split by the owners of the records it returned


def rows_by_owner(rows: list[AuditRow]) -> list[AuditRow]:
    """A search's row as one row per owner of the records it returned (each site's administrator then sees
    the searches that returned their site's records, with those records and their patients only: the patients
    the query named and those the returned records are about)."""
    if not any(row.owner == RESOLVE_OWNER for row in rows):
        return rows
    from fhir_gateway.public import owners_of, patients_of

    searches = [(row, orjson.loads(row.detail)) for row in rows if row.owner == RESOLVE_OWNER]
    owners = owners_of(
        ref for _row, detail in searches for ref in [*(detail.get("returned") or ()), *(detail.get("patients") or ())]
    )
    about = patients_of(ref for _row, detail in searches for ref in detail.get("returned") or ())
    out = [row for row in rows if row.owner != RESOLVE_OWNER]
    for row, detail in searches:
        groups: dict[str, list[str]] = {}
        for ref in detail.get("returned") or ():
            groups.setdefault(owners.get(ref, ""), []).append(ref)
        named = detail.get("patients") or []
        if not groups:  # nothing returned: the sites whose patients the query named see that it was asked
            groups = {owner: [] for owner in dict.fromkeys(owners.get(ref, "") for ref in named)} or {"": []}
        for owner, refs in groups.items():
            patients = list(dict.fromkeys([*named, *(p for ref in refs for p in about.get(ref, ()))]))[:100]
            part = {**detail, "returned": refs, "patients": patients}
            out.append(
                row._replace(
                    owner=owner[:64],
                    patient=(patients[0] if patients else "")[:100],
                    detail=orjson.dumps(part).decode(),
                )
            )
    return out


def rows_copy(rows: list[AuditRow]) -> None:
    """Store audit rows with one ``COPY``: a tenth of ``bulk_create``'s CPU."""
    rows = rows_by_owner(rows)
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        with cursor.copy(f"COPY {_table()} ({_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def row_insert(row: AuditRow) -> None:
    """Store one audit row with one INSERT (outside a transaction: a single round trip)."""
    if row.owner == RESOLVE_OWNER:
        rows_copy([row])
        return
    connection.ensure_connection()
    placeholders = ", ".join(["%s"] * len(AuditRow._fields))
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(f"INSERT INTO {_table()} ({_COLUMNS}) VALUES ({placeholders})", row)


writer = BackgroundWriter()
atexit.register(writer.shutdown, 5.0)
