"""A background writer for the audit rows of successful reads.

A read costs one indexed SELECT; waiting for its audit row's INSERT and COMMIT would cost more than
the read itself. Such rows are therefore handed to one writer thread per process, which stores them
in batches (at most ``interval`` seconds after the read, one COPY per batch). Writes are recorded in
their own transaction, refusals before the response leaves. A batch the database does not take goes to
the durable spool (``hub.audit.spool``), retried every few seconds; at a normal exit the writer drains
what it holds (to the spool if need be). Only a hard kill of the process can lose the last fraction of a
second of read rows. Every ``housekeeping`` seconds the writer also stores spooled rows and seals the
trail (``hub.audit.seals``).
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
from django.db import close_old_connections, connection, transaction

logger = logging.getLogger(__name__)


class BackgroundWriter:
    def __init__(
        self, *, interval: float = 0.1, max_batch: int = 2000, max_backlog: int = 200_000, housekeeping: float = 5.0
    ):
        self.interval = interval
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

    def submit(self, rows: list) -> None:
        if len(self._rows) + len(rows) > self.max_backlog:
            # The database has been unreachable for a long time: write in the caller rather than grow forever.
            self._store(rows)
            return
        with self._lock:
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
        if self.drain(timeout):
            return
        with self._lock:
            left, self._rows = list(self._rows), deque()
        if left:
            _spooled(left)

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
            # One batch per wake-up, more only while full batches wait: rows that arrive while a batch is
            # being stored wait for the next interval and go together, rather than one COPY per few rows.
            while self._rows:
                batch = [self._rows.popleft() for _ in range(min(len(self._rows), self.max_batch))]
                try:
                    self._store(batch)
                except Exception as error:
                    logger.warning("audit writer: storing %d rows failed (%s); spooling them", len(batch), error)
                    close_old_connections()
                    connection.close()
                    if not _spooled(batch):
                        self._rows.extendleft(reversed(batch))
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
