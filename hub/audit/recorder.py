"""Records every interaction with the FHIR gateway (reads included) as an ``AuditEvent``.

- A successful write is recorded inside its own transaction (``record_writes``, a ``hooks.write_recorders``
  hook; every entry of a transaction Bundle with one COPY): it commits with its record or not at all, and a
  failure to record rolls it back instead of answering an error after the commit.
- Other rows (reads, refusals, writes rolled back) are buffered per thread and written in one COPY (one
  INSERT for a single row) when the request (or the Celery task, or the outermost service call) ends,
  outside the interaction's own transaction, so a refused or rolled-back interaction is still recorded.
  The rows of successful reads go to a background writer (``hub.audit.writer``) unless
  ``AUDIT_DEFER_READS`` is off; rows the database does not take go to the durable spool
  (``hub.audit.spool``), never nowhere.
- Who: the actor; within a signed-in user's request, what the hub's workflow does as its internal actor is
  recorded as that user's (``detail.via = "hub"``). The client (``session``, ``bearer`` or the OAuth2
  client) and the network address are in ``detail``. A search records its query, how many it found and
  the records it returned (split by their owners when stored, ``writer.rows_by_owner``).
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlencode

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from fhir_gateway.context import INTERNAL, SEARCH, SYSTEM, Interaction
from hub.audit.spool import spool_rows
from hub.audit.writer import RESOLVE_OWNER, AuditRow, row_insert, rows_copy, writer

logger = logging.getLogger(__name__)
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


PATIENT_PARAMS = ("patient", "subject", "beneficiary", "_id")


def _named_patients(resource_type: str | None, params: list) -> list[str]:
    """The patients a search names (``patient=``, ``subject=Patient/...``, a Patient search's ``_id``)."""
    found = []
    for name, value in params:
        base = name.split(":", 1)[0]
        if base not in PATIENT_PARAMS or (base == "_id" and resource_type != "Patient"):
            continue
        for one in str(value).split(","):
            one = one.rsplit("/_history", 1)[0]
            if one.startswith("Patient/"):
                found.append(one[:100])
            elif one and "/" not in one and (base in ("patient", "_id") or name.endswith(":Patient")):
                found.append(f"Patient/{one}"[:100])
    return found[:20]


def _client() -> dict:
    """How the request came (``client``, ``address``), when there is a request."""
    request = getattr(_local, "request", None)
    if request is None:
        return {}
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    return {
        "client": "bearer" if authorization[:7].lower() == "bearer " else "session",
        "address": request.META.get("REMOTE_ADDR", "")[:64],
    }


def _on_behalf_of():
    """The signed-in user of this request, for whom the hub's workflow acts (None outside a request)."""
    request = getattr(_local, "request", None)
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def audit_row(interaction: Interaction, status: int, resource: dict | None) -> AuditRow:
    """The row that records ``interaction`` (IHE BALP's who, where from, what, on which patient, outcome)."""
    actor = interaction.actor
    fhir_id = interaction.fhir_id or (resource or {}).get("id") or ""
    detail = {key: value for key, value in interaction.detail.items() if isinstance(value, str | int | float | bool)}
    if interaction.operation:
        detail["operation"] = interaction.operation
    detail.update(_client())
    kind, actor_id, display, site = actor.kind, actor.id, actor.display, actor.site
    if actor.kind == SYSTEM:
        detail["client"] = f"oauth2:{actor.id}"
    elif actor.kind == INTERNAL and (user := _on_behalf_of()) is not None:
        # The hub acting for the signed-in user (the referral workflow's records): recorded as theirs.
        kind, actor_id, display = "user", str(user.pk), user.get_full_name() or user.get_username()
        site = getattr(getattr(user, "site", None), "code", "") or ""
        detail["via"] = "hub"
    resource_type = interaction.resource_type or (resource or {}).get("resourceType", "") or ""
    patient = patient_of(interaction.resource_type, str(fhir_id), resource)
    owner = str(interaction.detail.get("owner", ""))[:64]
    params = interaction.detail.get("params")
    if interaction.action == SEARCH and isinstance(params, list):
        detail["query"] = urlencode(params)[:2000]
        detail["patients"] = _named_patients(interaction.resource_type, params)
        returned = interaction.detail.get("returned")
        if isinstance(returned, list):
            detail["returned"] = returned
            owner = RESOLVE_OWNER if status < 400 else owner
        patient = patient or (detail["patients"][0] if detail["patients"] else "")
    return AuditRow(
        recorded_at=timezone.now(),
        actor_kind=kind,
        actor_id=actor_id,
        actor_display=display[:255],
        actor_site=site,
        action=interaction.action,
        resource_type=resource_type,
        fhir_id=str(fhir_id)[:64],
        patient=patient,
        owner=owner,
        status=status,
        success=status < 400,
        detail=orjson.dumps(detail).decode(),
    )


def record_writes(observations: list) -> None:
    """``hooks.write_recorders``: the successful writes of one transaction, recorded in it (one COPY)."""
    rows_copy([audit_row(*observation) for observation in observations])


def record_interaction(interaction: Interaction, status: int, resource: dict | None) -> None:
    if interaction.recorded:
        return  # recorded with its write, in its transaction
    row = audit_row(interaction, status, resource)
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
    try:
        if len(pending) == 1:
            row_insert(pending[0])  # one round trip: no BEGIN/COMMIT around a single INSERT
        else:
            with transaction.atomic():
                rows_copy(pending)
    except Exception as error:
        # The database did not take them (unreachable, connection cut): the durable spool keeps them.
        logger.warning("audit: storing %d row(s) failed (%s); spooling them", len(pending), error)
        connection.close()
        spool_rows(pending)


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
        outer = getattr(_local, "request", None)
        _local.request = request
        try:
            with AuditScope():
                return self.get_response(request)
        finally:
            _local.request = outer


def task_started(task_id=None, task=None, **kwargs) -> None:
    """Celery: buffer a task's audit rows like a request's."""
    AuditScope().__enter__()


def task_finished(task_id=None, task=None, **kwargs) -> None:
    AuditScope().__exit__(None, None, None)
