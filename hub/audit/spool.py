"""A durable queue for audit rows the database did not take (unreachable, connection cut).

Rows that could not be stored are written to a file of their own in ``AUDIT_SPOOL_DIR`` (written whole,
flushed to disk, then renamed into place, so a file is either complete or absent) and retried by every
process's background writer and by Celery beat (``audit.seal``) until stored; a file is claimed by renaming
it before it is stored, so two processes never store it both. The journal segments of processes that died
(``hub.audit.journal``) are adopted as spool files by every drain and state check. ``/healthz`` shows how
many files wait and for how long (``spool_state``).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from datetime import datetime
from pathlib import Path

import orjson
from django.conf import settings
from django.db import transaction

from hub.audit.journal import adopt_orphans
from hub.audit.writer import AuditRow, rows_copy

logger = logging.getLogger(__name__)
STUCK_SECONDS = 300  # a spooled file older than this: /healthz reports the audit trail as failing


def _dir() -> Path:
    return Path(settings.AUDIT_SPOOL_DIR)


def spool_rows(rows: list[AuditRow]) -> None:
    """Keep ``rows`` on disk until the database takes them."""
    folder = _dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temporary, final = folder / f"{name}.tmp", folder / f"{name}.jsonl"
    with open(temporary, "wb") as out:
        for row in rows:
            out.write(orjson.dumps(row._asdict()) + b"\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, final)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    logger.warning("audit: %d row(s) kept in %s until the database takes them", len(rows), final)


def _rows(path: Path) -> list[AuditRow]:
    rows = []
    lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    for number, line in enumerate(lines, 1):
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError:
            if number < len(lines):
                raise
            # A journal's last line cut short by its process dying mid-append: that row never got its response.
            logger.error("audit: %s ends with a row cut short; kept in the log: %r", path.name, line[:2000])
            break
        data["recorded_at"] = datetime.fromisoformat(data["recorded_at"])
        rows.append(AuditRow(**data))
    return rows


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def spool_drain(max_files: int = 100) -> int:
    """Store spooled rows (oldest first); the number stored. Stops at the first failure (retried later)."""
    folder = _dir()
    if not folder.is_dir():
        return 0
    adopt_orphans(folder)
    for claimed in folder.glob("*.claimed-*"):  # claimed by a process that died before storing it
        if not _alive(int(claimed.suffix.rsplit("-", 1)[1])):
            os.replace(claimed, claimed.with_suffix(".jsonl"))
    stored = 0
    for path in sorted(folder.glob("*.jsonl"))[:max_files]:
        claimed = path.with_suffix(f".claimed-{os.getpid()}")
        try:
            os.replace(path, claimed)
        except FileNotFoundError:
            continue  # another process took it
        try:
            rows = _rows(claimed)
            with transaction.atomic():
                rows_copy(rows)
        except Exception:
            os.replace(claimed, path)
            raise
        claimed.unlink()
        stored += len(rows)
    return stored


def spool_state() -> dict:
    """``{"files", "oldest_seconds"}`` of what waits in the spool."""
    folder = _dir()
    if folder.is_dir():
        adopt_orphans(folder)
    files = [path for path in folder.glob("*.jsonl")] if folder.is_dir() else []
    oldest = min((path.stat().st_mtime for path in files), default=None)
    return {"files": len(files), "oldest_seconds": round(time.time() - oldest, 1) if oldest else 0.0}
