"""Kick off, follow, cancel and serve ``$export`` jobs, and run them (``export_run``, in a worker)."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import parse_qsl

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fhir_gateway import hooks
from fhir_gateway.bulk.models import ExportFile, ExportJob, ExportStatus
from fhir_gateway.bulk.storage import export_storage, file_open_for_write
from fhir_gateway.context import REQUEST, Actor, Interaction
from fhir_gateway.errors import FhirError, Forbidden, NotFound
from fhir_gateway.history import date_parse
from fhir_gateway.interactions import interaction_scope
from fhir_gateway.search import query, request
from fhir_gateway.search.criteria import Context
from fhir_gateway.search.definitions import defined_types
from fhir_gateway.search.scope import Scope

logger = logging.getLogger(__name__)

NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = {NDJSON, "application/ndjson", "ndjson"}
SUPPORTED = {"_outputFormat", "_since", "_type", "_typeFilter"}
LEVELS = ("system", "patient", "group")
ACTIVE = (ExportStatus.ACCEPTED, ExportStatus.IN_PROGRESS)


def _setting(name: str, default):
    return getattr(settings, name, default)


def batch_size() -> int:
    return int(_setting("FHIR_EXPORT_BATCH", 2000))


def file_resources() -> int:
    return int(_setting("FHIR_EXPORT_FILE_RESOURCES", 100_000))


def ttl() -> timedelta:
    return timedelta(seconds=int(_setting("FHIR_EXPORT_TTL_SECONDS", 24 * 3600)))


def _actor_of(job: ExportJob) -> Actor:
    return Actor(
        kind=job.actor_kind,
        id=job.actor_id,
        display=job.actor_display,
        site=job.actor_site,
        scopes=frozenset(job.actor_scopes or ()),
    )


def _types_with_data() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rtype FROM fhir_search_count GROUP BY rtype HAVING sum(n) > 0 ORDER BY rtype")
        return [row[0] for row in cursor.fetchall()]


def _type_allowed(actor: Actor, resource_type: str) -> bool:
    """May ``actor`` search ``resource_type`` at all (SMART scopes, roles)? What it finds is scoped later."""
    interaction = Interaction(actor=actor, action="search", resource_type=resource_type, operation="$export")
    interaction.stage = REQUEST  # the question a search is asked before it runs
    try:
        for policy in hooks.access_policies:
            policy(interaction, None)
    except Forbidden:
        return False
    return True


def _bad(name: str, message: str) -> FhirError:
    return FhirError(400, message, code="invalid", expression=[name])


def _parse(params: list[tuple[str, str]], *, strict: bool) -> dict:
    options: dict = {"types": None, "since": None, "filters": {}}
    for name, value in params:
        if name == "_outputFormat":
            if value not in OUTPUT_FORMATS:
                message = _("Only NDJSON (application/fhir+ndjson) is offered, not %(value)s") % {"value": value}
                raise _bad(name, message)
        elif name == "_since":
            options["since"] = date_parse("_since", value)
        elif name == "_type":
            types = options["types"] or []
            for item in (part.strip() for part in value.split(",")):
                if item not in defined_types():
                    raise _bad(name, _("Unknown resource type in _type: %(value)s") % {"value": item})
                if item not in types:
                    types.append(item)
            options["types"] = types
        elif name == "_typeFilter":
            for item in (part.strip() for part in value.split(",") if part.strip()):
                resource_type, sep, query_string = item.partition("?")
                if not sep or resource_type not in defined_types():
                    raise _bad(name, _("A _typeFilter is Type?search: %(value)s") % {"value": item})
                try:
                    request.parse(resource_type, parse_qsl(query_string, keep_blank_values=True))
                except FhirError as error:
                    raise _bad(name, f"{item}: {error.diagnostics}") from None
                options["filters"].setdefault(resource_type, []).append(query_string)
        elif strict:
            raise FhirError(
                400,
                _("The export parameter %(name)s is not supported") % {"name": name},
                code="not-supported",
                expression=[name],
            )
    if options["types"] is not None:
        for resource_type in options["filters"]:
            if resource_type not in options["types"]:
                raise _bad("_typeFilter", _("%(type)s is filtered but not in _type") % {"type": resource_type})
    return options


def export_kickoff(
    *,
    actor: Actor,
    level: str,
    params: list[tuple[str, str]],
    prefer: str,
    request_url: str,
    group_id: str | None = None,
) -> ExportJob:
    """Check the request and queue the job (``export_run`` in a worker after commit)."""
    assert level in LEVELS
    interaction = Interaction(
        actor=actor,
        action="operation",
        operation="$export",
        resource_type={"system": None, "patient": "Patient", "group": "Group"}[level],
        fhir_id=group_id,
    )
    with interaction_scope(interaction) as scope:
        preferences = {part.strip().lower() for part in prefer.split(",") if part.strip()}
        if "respond-async" not in preferences:
            raise FhirError(400, _("An export needs the header Prefer: respond-async"), code="invalid")
        options = _parse(params, strict="handling=strict" in preferences)
        if group_id is not None:
            group = _group_members(actor, group_id)  # raises NotFound when not visible
            options["group"] = group
        limit = int(_setting("FHIR_EXPORT_ACTIVE_PER_CLIENT", 3))
        active = ExportJob.objects.filter(actor_kind=actor.kind, actor_id=actor.id, status__in=ACTIVE).count()
        if active >= limit:
            raise FhirError(
                429,
                _("%(n)s exports of yours are still running; wait for one to finish or cancel it") % {"n": active},
                code="throttled",
                headers={"Retry-After": "60"},
            )
        requested = options["types"]
        candidates = requested if requested is not None else _types_with_data()
        allowed = [t for t in candidates if _type_allowed(actor, t)]
        refused = [t for t in (requested or []) if t not in allowed]
        if refused:
            raise Forbidden(_("You may not export %(types)s") % {"types": ", ".join(refused)})
        if not allowed and requested is None:
            raise Forbidden(_("There is nothing you may export"))
        job = ExportJob.objects.create(
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_site=actor.site,
            actor_display=actor.display[:255],
            actor_scopes=sorted(actor.scopes),
            level=level,
            group_id=group_id or "",
            types=allowed,
            since=options["since"],
            type_filters=options["filters"],
            request_url=request_url,
            created_at=timezone.now(),
        )
        scope.done(202)
    transaction.on_commit(lambda: export_dispatch(job_id=job.pk))
    return job


def export_dispatch(*, job_id: int) -> None:
    """Hand the job to a worker; with inline Celery (no broker) to a thread, so the kick-off answers at once."""
    from fhir_gateway.bulk.tasks import export_run_task

    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) and not getattr(settings, "FHIR_EXPORT_INLINE", False):
        import threading

        def run() -> None:
            try:
                export_run(job_id=job_id)
            finally:
                connection.close()

        threading.Thread(target=run, name=f"fhir-export-{job_id}", daemon=True).start()
    else:
        export_run_task.delay(job_id)


def _group_members(actor: Actor, group_id: str) -> list[str]:
    """The ids of the Patients a Group the actor may read lists as members."""
    from fhir_gateway import services

    try:
        group = services.resource_read(resource_type="Group", fhir_id=group_id, actor=actor)
    except (NotFound, Forbidden):
        raise NotFound(_("Group/%(id)s is not known") % {"id": group_id}) from None
    members = []
    for member in group.get("member") or []:
        reference = ((member or {}).get("entity") or {}).get("reference") or ""
        if reference.startswith("Patient/") and not member.get("inactive"):
            members.append(reference.split("/", 1)[1])
    return members


def job_for(*, actor: Actor, uid: str) -> ExportJob:
    """The requester's job; another party's (or an expired one) is not found, whoever asks."""
    job = ExportJob.objects.filter(uid=uid).first() if _uuid(uid) else None
    if job is None or (job.actor_kind, job.actor_id) != (actor.kind, actor.id):
        raise NotFound(_("No such export"))
    if job.expires_at is not None and job.expires_at <= timezone.now():
        raise NotFound(_("This export has expired"))
    return job


def _uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def export_status(*, actor: Actor, uid: str, base_url: str) -> tuple[int, dict, dict | None]:
    """``(status, headers, body)`` of the status URL (202 while running, 200 and the manifest when done)."""
    interaction = Interaction(actor=actor, action="operation", operation="$export-poll-status", fhir_id=uid)
    with interaction_scope(interaction) as scope:
        job = job_for(actor=actor, uid=uid)
        if job.status in ACTIVE:
            progress = _progress(job)
            scope.done(202)
            return 202, {"X-Progress": progress, "Retry-After": "2"}, None
        if job.status == ExportStatus.FAILED:
            raise FhirError(500, _("The export failed: %(error)s") % {"error": job.error}, code="exception")
        if job.status == ExportStatus.CANCELLED:
            raise NotFound(_("This export was cancelled"))
        base = base_url.rstrip("/")
        output = [
            {"type": f.resource_type, "url": f"{base}/$export-file/{job.uid}/{f.name.rsplit('/', 1)[-1]}",
             "count": f.count}
            for f in job.files.all()
        ]  # fmt: skip
        manifest = {
            "transactionTime": job.created_at.isoformat(),
            "request": job.request_url,
            "requiresAccessToken": True,
            "output": output,
            "error": [],
        }
        headers = {"Expires": job.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT")} if job.expires_at else {}
        scope.done(200)
        return 200, headers, manifest


def _progress(job: ExportJob) -> str:
    if job.status == ExportStatus.ACCEPTED:
        return _("queued")
    if job.total:
        percent = min(100, int(job.done * 100 / job.total))
        return _("%(done)s of %(total)s resources (%(percent)s%%)") % {
            "done": job.done,
            "total": job.total,
            "percent": percent,
        }
    return _("%(done)s resources") % {"done": job.done}


def export_cancel(*, actor: Actor, uid: str) -> None:
    """``DELETE`` on the status URL: the job stops at its next batch and its files go."""
    interaction = Interaction(actor=actor, action="operation", operation="$export-cancel", fhir_id=uid)
    with interaction_scope(interaction) as scope:
        job = job_for(actor=actor, uid=uid)
        with transaction.atomic():
            job = ExportJob.objects.select_for_update().get(pk=job.pk)
            if job.status == ExportStatus.CANCELLED:
                raise NotFound(_("This export was cancelled"))
            job.status = ExportStatus.CANCELLED
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "finished_at"])
        _files_delete(job)
        scope.done(202)


def export_file(*, actor: Actor, uid: str, name: str) -> ExportFile:
    """A file of the requester's completed job (its storage name), audited as a read of the export."""
    interaction = Interaction(actor=actor, action="operation", operation="$export-file", fhir_id=uid)
    with interaction_scope(interaction) as scope:
        job = job_for(actor=actor, uid=uid)
        found = job.files.filter(name__endswith=f"/{name}").first() if job.status == ExportStatus.COMPLETED else None
        if found is None or "/" in name:
            raise NotFound(_("No such export file"))
        scope.interaction.detail["file"] = name
        scope.interaction.detail["count"] = found.count
        scope.done(200)
        return found


def _files_delete(job: ExportJob) -> None:
    storage = export_storage()
    for name in job.files.values_list("name", flat=True):
        try:
            storage.delete(name)
        except OSError:
            logger.warning("export %s: could not delete %s", job.uid, name)
    job.files.all().delete()


# --- the worker ------------------------------------------------------------------------------


def _conditions(job: ExportJob, resource_type: str, scope: Scope, members: list[str] | None) -> tuple[str, list]:
    sqls, args = ["s.rtype = %s"], [resource_type]
    scope_sql, scope_args = scope.sql("s", resource_type)
    if scope_sql:
        sqls.append(scope_sql.removeprefix(" AND "))
        args += scope_args
    if job.since is not None:
        sqls.append("s.last_updated > %s")
        args.append(job.since)
    if job.level in ("patient", "group"):
        # The Patient compartment: the patients themselves and every resource that references one.
        patients = "" if members is None else " AND i.target_id = ANY(%s)"
        compartment = (
            "s.resource_id IN (SELECT i.resource_id FROM fhir_search_reference i "
            f"WHERE i.target_type = 'Patient'{patients})"
        )
        if resource_type == "Patient":
            compartment = "TRUE" if members is None else "s.fhir_id = ANY(%s)"
            if members is not None:
                args.append(members)
        elif members is not None:
            args.append(members)
        sqls.append(compartment)
    filters = (job.type_filters or {}).get(resource_type) or []
    if filters:
        alternatives = []
        for query_string in filters:
            parsed = request.parse(resource_type, parse_qsl(query_string, keep_blank_values=True))
            sql, filter_args = query.where(Context(scope=scope, strict=True), parsed)
            alternatives.append(f"({sql})")
            args += filter_args
        sqls.append("(" + " OR ".join(alternatives) + ")")
    return " AND ".join(sqls), args


def _still_running(job: ExportJob) -> bool:
    status = ExportJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    return status == ExportStatus.IN_PROGRESS


def export_run(*, job_id: int) -> None:
    """Write the job's files; started again from scratch when a previous worker died in the middle."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update(skip_locked=True).filter(pk=job_id).first()
        if job is None or job.status not in ACTIVE:
            return
        job.status = ExportStatus.IN_PROGRESS
        job.started_at = job.heartbeat_at = timezone.now()
        job.attempts += 1
        job.done = 0
        job.save(update_fields=["status", "started_at", "heartbeat_at", "attempts", "done"])
    _files_delete(job)  # a restart after a dead worker: its partial files go
    try:
        finished = _write_all(job)
    except Exception as error:  # recorded on the job; the status URL answers it as an OperationOutcome
        logger.exception("export %s failed", job.uid)
        ExportJob.objects.filter(pk=job.pk, status=ExportStatus.IN_PROGRESS).update(
            status=ExportStatus.FAILED, error=f"{type(error).__name__}: {error}"[:2000], finished_at=timezone.now()
        )
        _files_delete(job)
        return
    if not finished:  # cancelled meanwhile
        _files_delete(job)
        return
    now = timezone.now()
    ExportJob.objects.filter(pk=job.pk, status=ExportStatus.IN_PROGRESS).update(
        status=ExportStatus.COMPLETED, finished_at=now, expires_at=now + ttl(), heartbeat_at=now
    )


def _write_all(job: ExportJob) -> bool:
    scope = Scope(_actor_of(job))
    members = _group_members(_actor_of(job), job.group_id) if job.level == "group" else None
    plans = [(t, *_conditions(job, t, scope, members)) for t in job.types]
    with connection.cursor() as cursor:
        total = 0
        for _type, sql, args in plans:
            cursor.execute(f"SELECT count(*) FROM fhir_search_res s WHERE {sql}", args)
            total += cursor.fetchone()[0]
    ExportJob.objects.filter(pk=job.pk).update(total=total)
    done, size, limit = 0, batch_size(), file_resources()
    for resource_type, sql, args in plans:
        after, part, writer = 0, 0, None
        try:
            while True:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT s.resource_id, r.content FROM fhir_search_res s "
                        "JOIN fhir_gateway_resource r ON r.id = s.resource_id "
                        f"WHERE {sql} AND s.resource_id > %s AND NOT r.deleted ORDER BY s.resource_id LIMIT %s",
                        [*args, after, size],
                    )
                    rows = cursor.fetchall()
                if not rows:
                    break
                for _pk, content in rows:
                    if writer is None or writer.count >= limit:
                        if writer is not None:
                            writer.close()
                        part += 1
                        writer = _Part(job, resource_type, part)
                    writer.write(content)
                after = rows[-1][0]
                done += len(rows)
                ExportJob.objects.filter(pk=job.pk).update(done=done, heartbeat_at=timezone.now())
                if not _still_running(job):
                    return False
        finally:
            if writer is not None:
                writer.close()
    return True


class _Part:
    """One NDJSON file being written: a line per resource, recorded as an ``ExportFile`` when closed."""

    def __init__(self, job: ExportJob, resource_type: str, part: int):
        self.file = ExportFile(
            job=job, resource_type=resource_type, part=part, name=f"{job.uid}/{resource_type}-{part}.ndjson"
        )
        self.handle = file_open_for_write(self.file.name)
        self.count = 0
        self.size = 0

    def write(self, content) -> None:
        line = content.encode() if isinstance(content, str) else orjson.dumps(content)
        if b"\n" in line:  # stored text is one line (jsonb's form); a parsed value is written by orjson
            line = orjson.dumps(orjson.loads(line))
        self.handle.write(line + b"\n")
        self.count += 1
        self.size += len(line) + 1

    def close(self) -> None:
        self.handle.close()
        self.file.count, self.file.size = self.count, self.size
        self.file.save()


def exports_recover(*, stale_after: timedelta | None = None) -> int:
    """Jobs whose worker stopped beating (killed, restarted) go back to a worker; the number sent."""
    stale_after = stale_after or timedelta(seconds=int(_setting("FHIR_EXPORT_STALE_SECONDS", 120)))
    cutoff = timezone.now() - stale_after
    stale = list(
        ExportJob.objects.filter(status=ExportStatus.IN_PROGRESS, heartbeat_at__lt=cutoff).values_list("pk", flat=True)
    )
    queued = list(
        ExportJob.objects.filter(status=ExportStatus.ACCEPTED, created_at__lt=cutoff).values_list("pk", flat=True)
    )
    for job_id in stale:
        ExportJob.objects.filter(pk=job_id, status=ExportStatus.IN_PROGRESS, heartbeat_at__lt=cutoff).update(
            status=ExportStatus.ACCEPTED
        )
    for job_id in stale + queued:
        export_dispatch(job_id=job_id)
    return len(stale) + len(queued)


def exports_expire() -> int:
    """Delete the files of expired and finished-but-unwanted jobs; the number of jobs cleaned."""
    now = timezone.now()
    expired = ExportJob.objects.filter(expires_at__lte=now).exclude(files=None)
    count = 0
    for job in expired:
        _files_delete(job)
        count += 1
    return count
