"""Records every interaction with the FHIR gateway (reads included) as an ``AuditEvent``.

Rows are buffered per thread and written in one COPY (one INSERT for a single row)
when the request (or the Celery task, or the outermost service call) ends, so a
Bundle of a hundred entries costs one round trip, and a refused or rolled-back
interaction is still recorded: the flush happens outside the interaction's own
transaction. The rows
of successful reads go to a background writer (``hub.audit.writer``) unless
``AUDIT_DEFER_READS`` is off.
"""

from __future__ import annotations

import threading

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from fhir_gateway.context import Interaction
from hub.audit.writer import AuditRow, row_insert, rows_copy, writer

_local = threading.local()


def _buffer() -> list[AuditRow]:
    if not hasattr(_local, "rows"):
        _local.rows = []
        _local.depth = 0
    return _local.rows


def patient_of(resource_type: str | None, fhir_id: str | None, resource: dict | None) -> str:
    """The ``Patient/<id>`` reference a record is about, when it says."""
    if resource_type == "Patient" and fhir_id:
        return f"Patient/{fhir_id}"[:100]
    if not resource:
        return ""
    for element in ("subject", "patient", "beneficiary", "for"):
        value = resource.get(element)
        if isinstance(value, dict):
            reference = value.get("reference") or ""
            if reference.startswith("Patient/"):
                return reference[:100]
    return ""


def record_interaction(interaction: Interaction, status: int, resource: dict | None) -> None:
    actor = interaction.actor
    fhir_id = interaction.fhir_id or (resource or {}).get("id") or ""
    detail = {key: value for key, value in interaction.detail.items() if isinstance(value, str | int | float | bool)}
    if interaction.operation:
        detail["operation"] = interaction.operation
    row = AuditRow(
        recorded_at=timezone.now(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_display=actor.display[:255],
        actor_site=actor.site,
        action=interaction.action,
        resource_type=interaction.resource_type or (resource or {}).get("resourceType", "") or "",
        fhir_id=str(fhir_id)[:64],
        patient=patient_of(interaction.resource_type, str(fhir_id), resource),
        owner=str(interaction.detail.get("owner", ""))[:64],
        status=status,
        success=status < 400,
        detail=orjson.dumps(detail).decode(),
    )
    rows = _buffer()
    rows.append(row)
    if _local.depth == 0:
        # Outside a request or task: write now, or when the caller's transaction commits.
        if connection.in_atomic_block:
            transaction.on_commit(flush)
        else:
            flush()


READ_ACTIONS = frozenset({"read", "vread", "search", "history", "capabilities"})


def _deferrable(row: AuditRow) -> bool:
    return row.success and row.action in READ_ACTIONS


def flush() -> None:
    rows = _buffer()
    if not rows:
        return
    pending, rows[:] = list(rows), []
    if connection.in_atomic_block:
        rows_copy(pending)  # part of the caller's transaction
        return
    if settings.AUDIT_DEFER_READS:
        deferred = [row for row in pending if _deferrable(row)]
        if deferred:
            writer.submit(deferred)
            pending = [row for row in pending if not _deferrable(row)]
            if not pending:
                return
    if len(pending) == 1:
        row_insert(pending[0])  # one round trip: no BEGIN/COMMIT around a single INSERT
    else:
        with transaction.atomic():
            rows_copy(pending)


class AuditScope:
    """Buffers audit rows for the duration of a request or task and writes them at the end."""

    def __enter__(self):
        _buffer()
        _local.depth += 1
        return self

    def __exit__(self, *exc):
        _local.depth -= 1
        if _local.depth == 0:
            flush()
        return False


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with AuditScope():
            return self.get_response(request)


def task_started(task_id=None, task=None, **kwargs) -> None:
    """Celery: buffer a task's audit rows like a request's."""
    AuditScope().__enter__()


def task_finished(task_id=None, task=None, **kwargs) -> None:
    AuditScope().__exit__(None, None, None)
