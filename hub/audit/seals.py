"""Tamper evidence for the audit trail: a hash chain of seals over the committed rows, in id order.

Rows are appended by many processes at once, some inside long write transactions, so a row's id says
nothing about when it commits. Rather than serialise every insert behind one lock, a sealer (any process,
one at a time: an advisory lock) works in two steps: it takes a *mark* (the highest committed id, then the
transactions open in this database at that moment, from ``pg_stat_activity``), and once every one of them
has ended, every row up to the mark is committed or never will be; it then seals them: one ``AuditSeal`` with
the SHA-256 of the rows' canonical text (``_ROW_TEXT``, in id order) and the hash of that with the
previous seal's hash. Inserting costs nothing more; sealing reads each row once.

``audit_verify`` recomputes every seal: a row altered, deleted or slipped into a sealed range changes its
seal's digest; a seal altered, deleted or reordered breaks the chain. Rows newer than the last seal (a few
seconds' worth) are reported as unsealed. The chain proves the trail against changes made inside the
database, not against someone who rewrites rows and every later seal: the head (``seq``, ``hash``) is
logged at each seal, so a copy kept elsewhere (the logs) pins it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from hub.audit.models import AuditEvent, AuditSeal, AuditSealMark

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
LOCK_KEY = 7_202_612  # pg advisory lock: one sealer at a time
MAX_ROWS = 50_000  # rows per seal at most
SETTLE = timedelta(seconds=1)  # a mark's least age before it is sealed

# Every column, in a fixed order and a fixed text form (epoch seconds for the time, jsonb's own text).
_ROW_TEXT = (
    "concat_ws(chr(31), id, extract(epoch FROM recorded_at), actor_kind, actor_id, actor_display, actor_site, "
    "action, resource_type, fhir_id, patient, owner, status, success, detail::text)"
)


def _table() -> str:
    return AuditEvent._meta.db_table


def _digest(first_id: int, last_id: int) -> tuple[int, str]:
    """``(rows, sha256 hex)`` of the rows with ids in ``[first_id, last_id]``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), encode(sha256(convert_to(coalesce(string_agg({_ROW_TEXT}, chr(10) ORDER BY id), ''), "
            f"'UTF8')), 'hex') FROM {_table()} WHERE id BETWEEN %s AND %s",
            [first_id, last_id],
        )
        count, digest = cursor.fetchone()
    return count, digest


def seal_hash(*, previous: str, seq: int, first_id: int, last_id: int, count: int, digest: str) -> str:
    return hashlib.sha256(f"{previous}|{seq}|{first_id}|{last_id}|{count}|{digest}".encode()).hexdigest()


_STILL_RUNNING = (
    "SELECT count(*) FROM pg_stat_activity a, json_array_elements(%s::json) r "
    "WHERE a.pid = (r->>0)::int AND a.xact_start = (r->>1)::timestamptz"
)
_RUNNING_NOW = (
    "SELECT coalesce(json_agg(json_build_array(pid, xact_start)), '[]')::text FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
)


def audit_seal() -> int:
    """Seal what can be sealed now, then take the next mark; the number of rows sealed (0 when another process
    holds the sealer's lock). Call it every few seconds (the background writer and Celery beat do)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            return 0
        sealed, last_id = _seal(cursor)
        mark = AuditSealMark.objects.first()
        if mark is None or mark.upto_id <= last_id:
            # The highest committed id first, then who is still in a transaction: a transaction holding a lower
            # id, not committed yet, is among them (statistics are read afresh, not from this transaction's cache).
            cursor.execute(f"SELECT max(id) FROM {_table()} WHERE id > %s", [last_id])
            highest = cursor.fetchone()[0]
            if highest is not None:
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(_RUNNING_NOW)
                running = cursor.fetchone()[0]
                AuditSealMark.objects.all().delete()
                AuditSealMark.objects.create(
                    upto_id=min(highest, last_id + MAX_ROWS), running=running, taken_at=timezone.now()
                )
    return sealed


def _seal(cursor) -> tuple[int, int]:
    """Seal up to the mark when every transaction open at the mark has ended: ``(rows sealed, last sealed id)``."""
    last = AuditSeal.objects.order_by("-seq").first()
    last_id = last.last_id if last else 0
    mark = AuditSealMark.objects.first()
    if mark is None or mark.upto_id <= last_id or mark.taken_at > timezone.now() - SETTLE:
        return 0, last_id
    cursor.execute("SELECT pg_stat_clear_snapshot()")
    cursor.execute(_STILL_RUNNING, [mark.running])
    if cursor.fetchone()[0]:
        return 0, last_id
    count, digest = _digest(last_id + 1, mark.upto_id)
    seq = (last.seq if last else 0) + 1
    previous = last.hash if last else GENESIS
    seal = AuditSeal.objects.create(
        seq=seq,
        first_id=last_id + 1,
        last_id=mark.upto_id,
        count=count,
        digest=digest,
        previous=previous,
        hash=seal_hash(
            previous=previous, seq=seq, first_id=last_id + 1, last_id=mark.upto_id, count=count, digest=digest
        ),
        sealed_at=timezone.now(),
    )
    logger.info("audit seal #%d: rows %d..%d (%d), hash %s", seq, seal.first_id, seal.last_id, count, seal.hash)
    return count, mark.upto_id


@dataclass
class Verification:
    """What ``audit_verify`` found: ``problems`` (empty when the trail is intact), and how much it checked."""

    seals: int = 0
    rows: int = 0
    unsealed: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_verify() -> Verification:
    """Recompute every seal and the chain; report each seal whose rows or links do not match."""
    result = Verification()
    previous, expected_first, expected_seq = GENESIS, 1, 1
    for seal in AuditSeal.objects.order_by("seq").iterator(chunk_size=500):
        result.seals += 1
        where = f"seal #{seal.seq} (rows {seal.first_id}..{seal.last_id})"
        if seal.seq != expected_seq:
            result.problems.append(f"seal #{expected_seq}..#{seal.seq - 1} missing before {where}")
        if seal.first_id != expected_first:
            result.problems.append(f"{where}: the chain expected it to start at row {expected_first}")
        if seal.previous != previous:
            result.problems.append(f"{where}: its link to the previous seal was changed")
        recomputed = seal_hash(
            previous=seal.previous,
            seq=seal.seq,
            first_id=seal.first_id,
            last_id=seal.last_id,
            count=seal.count,
            digest=seal.digest,
        )
        if recomputed != seal.hash:
            result.problems.append(f"{where}: the seal itself was changed")
        count, digest = _digest(seal.first_id, seal.last_id)
        result.rows += count
        if count < seal.count:
            result.problems.append(f"{where}: {seal.count - count} row(s) deleted")
        elif count > seal.count:
            result.problems.append(f"{where}: {count - seal.count} row(s) added after sealing")
        elif digest != seal.digest:
            result.problems.append(f"{where}: row(s) altered")
        previous, expected_first, expected_seq = seal.hash, seal.last_id + 1, seal.seq + 1
    result.head = previous
    result.unsealed = AuditEvent.objects.filter(id__gte=expected_first).count()
    return result
