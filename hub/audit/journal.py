"""The deferred audit rows' journal: every read's row is on disk before its response leaves.

The background writer (``hub.audit.writer``) stores the audit rows of successful reads a fraction of a second
after the read. So that a process killed in that fraction loses nothing, each row is first appended to this
process's journal segment in ``AUDIT_SPOOL_DIR`` (``<time>-<pid>-<random>.journal``, one JSON line a row, the
spool's own format; an append is one ``write`` to the kernel, so it survives the process being killed, though
not the machine losing power). The process holds an exclusive ``flock`` on its segment for as long as the rows
in it may not yet be stored:

- the writer takes the rows it holds and the segment that holds exactly them together (``rotate``), stores the
  rows, then deletes the segment (``discard``); if the database does not take them, the segment becomes a spool
  file as it is (``spool``: renamed to ``.jsonl``), retried like any other;
- a segment whose lock is free belongs to a process that died: ``adopt_orphans`` (run by every spool drain and
  by ``/healthz``'s spool check) turns it into a spool file, so another process stores its rows.

A row is stored twice only if the process dies between its batch's commit and the segment's deletion; it is
never lost.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import uuid
from pathlib import Path

import orjson
from django.conf import settings

logger = logging.getLogger(__name__)
SUFFIX = ".journal"


class Segment:
    """A closed-for-appends segment, still locked, holding the rows of one batch."""

    def __init__(self, path: Path, descriptor: int):
        self.path = path
        self.descriptor = descriptor

    def discard(self) -> None:
        """Its rows are stored: delete it, then let go of it."""
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self.descriptor)

    def spool(self) -> None:
        """Its rows were not stored: it waits in the spool as a file of its own (retried by every process)."""
        try:
            os.replace(self.path, self.path.with_suffix(".jsonl"))
        finally:
            os.close(self.descriptor)


class Journal:
    """This process's journal: ``append`` rows, ``rotate`` to hand the rows appended so far to the writer."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = 0
        self._path: Path | None = None
        self._descriptor = -1
        self._rows = 0

    def _open(self) -> None:
        folder = Path(settings.AUDIT_SPOOL_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # Created and locked under a name no adopter looks at, then renamed: never seen unlocked.
        fresh = folder / f"{name}.journal-new"
        descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path = folder / f"{name}{SUFFIX}"
            os.replace(fresh, path)
        except BaseException:
            os.close(descriptor)
            fresh.unlink(missing_ok=True)
            raise
        self._path, self._descriptor, self._rows, self._pid = path, descriptor, 0, os.getpid()

    def _current(self) -> None:
        if self._pid != os.getpid():
            if self._descriptor >= 0:
                os.close(self._descriptor)  # a forked child lets go of its parent's segment
            self._path, self._descriptor, self._rows = None, -1, 0
        if self._path is None:
            self._open()

    def append(self, rows: list) -> None:
        """Write ``rows`` to the segment (raises ``OSError`` if the disk does not take them). Callers hold the
        writer's lock, so the segment's rows and the writer's are the same rows in the same order."""
        data = b"".join(orjson.dumps(row._asdict()) + b"\n" for row in rows)
        with self._lock:
            self._current()
            written = os.write(self._descriptor, data)
            while written < len(data):  # a short write (rare on a regular file): write the rest
                written += os.write(self._descriptor, data[written:])
            self._rows += len(rows)

    def rotate(self) -> Segment | None:
        """The segment holding every row appended so far (still locked), or ``None`` if it holds none; the next
        append starts a new segment."""
        with self._lock:
            if self._path is None or self._pid != os.getpid() or not self._rows:
                return None
            segment = Segment(self._path, self._descriptor)
            self._path, self._descriptor, self._rows = None, -1, 0
            return segment

    def close(self) -> None:
        """At exit, once every row is stored or spooled: an empty segment is deleted."""
        with self._lock:
            if self._path is not None and self._pid == os.getpid():
                if self._rows:
                    os.close(self._descriptor)  # rows not stored: adopted by the next process that drains
                else:
                    Segment(self._path, self._descriptor).discard()
            self._path, self._descriptor, self._rows = None, -1, 0


def adopt_orphans(folder: Path) -> int:
    """Turn the segments of processes that died into spool files; how many were turned."""
    adopted = 0
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # stored and deleted meanwhile
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is alive and holds it
            if not path.exists():
                continue
            if os.fstat(descriptor).st_size == 0:
                path.unlink(missing_ok=True)
                continue
            os.replace(path, path.with_suffix(".jsonl"))
            adopted += 1
            logger.warning("audit: %s was left by a process that ended; its rows wait in the spool", path.name)
        finally:
            os.close(descriptor)
    return adopted


journal = Journal()
