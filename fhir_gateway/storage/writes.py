"""Versioned writes in bulk: lock, version, stamp ``meta``, store, index (http://hl7.org/fhir/R4/http.html).

``writes_apply`` runs inside the caller's database transaction. One call stores any number of writes
with a handful of statements: one lock query, one insert, one update, one COPY of versions and one
``index_write`` call, whatever the number of resources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import orjson
from django.utils.translation import gettext as _

from fhir_gateway.context import Actor, Change
from fhir_gateway.errors import Conflict, FhirError, Gone, NotFound, PreconditionFailed
from fhir_gateway.search.indexer import IndexRow, index_write
from fhir_gateway.storage import repository
from fhir_gateway.storage.repository import Current, VersionRow


@dataclass
class Write:
    """One intended write; ``content`` is the resource for POST/PUT (None for DELETE and PATCH)."""

    method: str  # POST, PUT, PATCH, DELETE
    resource_type: str
    fhir_id: str
    content: dict | None = None
    patch: list | None = None
    if_match: int | None = None
    source: str | None = None
    owner: str | None = None


@dataclass
class Written:
    """What a write did: ``changed`` is False for a delete of something absent or already deleted."""

    write: Write
    status: int
    version_id: int
    last_updated: datetime | None
    content: dict | None
    text: str | None
    created: bool
    changed: bool = True
    pk: int | None = None
    previous: Current | None = field(default=None, repr=False)
    row: VersionRow | None = field(default=None, repr=False)


class Guard(Protocol):
    """What the caller's access rules say about each write, asked in this order:

    ``visible(write, current)``: may the actor see the stored record at all? One it may not see is written
    as if absent (a PUT creates under the policies' say, a PATCH is 404, a DELETE has nothing to do), so
    no answer reveals it. ``target(write, current)``: may the actor write to this record (``current`` None:
    create it)? Asked before a precondition is checked or a patch applied. ``prepare(write, content,
    current)``: policies and stampers on the content about to be stored.
    """

    def visible(self, write: Write, current: Current) -> bool: ...

    def target(self, write: Write, current: Current | None) -> None: ...

    def prepare(self, write: Write, content: dict | None, current: Current | None) -> None: ...


class OpenGuard:
    """No access rules (the gateway's own writes, tests of the storage)."""

    def __init__(self, prepare: Callable[[Write, dict | None, Current | None], None] | None = None):
        self._prepare = prepare

    def visible(self, write: Write, current: Current) -> bool:
        return True

    def target(self, write: Write, current: Current | None) -> None:
        return None

    def prepare(self, write: Write, content: dict | None, current: Current | None) -> None:
        if self._prepare is not None:
            self._prepare(write, content, current)


# A patched document may grow to at most this many bytes (``FHIR_MAX_BODY_BYTES``, else 20 MiB).
DEFAULT_MAX_RESOURCE_BYTES = 20 * 1024 * 1024


def max_resource_bytes() -> int:
    from django.conf import settings

    return int(getattr(settings, "FHIR_MAX_BODY_BYTES", DEFAULT_MAX_RESOURCE_BYTES) or DEFAULT_MAX_RESOURCE_BYTES)


def instant(moment: datetime) -> str:
    """A FHIR ``instant`` in UTC."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _stamp(row: VersionRow, content: dict) -> None:
    meta = dict(content.get("meta") or {})
    meta["versionId"] = str(row.version_id)
    meta["lastUpdated"] = instant(row.last_updated)
    head = {"resourceType": content.get("resourceType"), "id": row.fhir_id, "meta": meta}
    row.content = content = {**head, **{k: v for k, v in content.items() if k not in head}}
    text = orjson.dumps(content).decode()
    if "\\u0000" in text:  # PostgreSQL's jsonb cannot hold NUL characters
        raise FhirError(400, _("The resource contains a NUL character"), code="value")
    row.text = text


def _same(stored: dict, content: dict) -> bool:
    """Whether ``content`` says what ``stored`` says, server-maintained meta aside."""
    if stored.keys() - {"meta"} != content.keys() - {"meta"}:
        return False
    ignored = ("versionId", "lastUpdated")
    stored_meta = {k: v for k, v in (stored.get("meta") or {}).items() if k not in ignored}
    content_meta = {k: v for k, v in (content.get("meta") or {}).items() if k not in ignored}
    return stored_meta == content_meta and all(stored[k] == content[k] for k in stored if k != "meta")


def writes_apply(writes: list[Write], *, actor: Actor, guard: Guard, patcher=None) -> list[Written]:
    """Store ``writes`` (each key at most once) and return their outcomes in the same order."""
    keys = [(w.resource_type, w.fhir_id) for w in writes]
    if len(set(keys)) != len(keys):
        raise FhirError(400, _("The same resource is written more than once in one request"), code="invalid")
    currents = repository.lock([k for k, w in zip(keys, writes, strict=True) if w.method != "POST"])
    # The current content of every resource a PUT or PATCH changes: the patch's base, and to tell a no-op.
    wanted = [
        c.pk for k, w in zip(keys, writes, strict=True) if w.method in ("PUT", "PATCH") and (c := currents.get(k))
    ]
    sources = repository.contents(wanted) if wanted else {}
    now = datetime.now(UTC)
    results: list[Written] = []
    rows: list[VersionRow] = []
    for position, (key, write) in enumerate(zip(keys, writes, strict=True)):
        try:
            written = _plan(write, key, currents.get(key), sources, now, actor, guard, patcher)
        except FhirError as error:
            error.position = position  # which write failed, for the Bundle entry's outcome
            raise
        results.append(written)
        if written.row is not None:
            rows.append(written.row)
    raced, unchanged = _store(rows, actor)
    for result in results:
        row = result.row
        if row is not None:
            result.pk, result.version_id, result.text, result.content = row.pk, row.version_id, row.text, row.content
            result.last_updated = row.last_updated
            if id(row) in raced:  # created by another writer first: this write became an update
                result.created, result.status = False, 200
    _changes_tell(actor, results, unchanged)
    return results


def _changes_tell(actor: Actor, results: list[Written], unchanged: set[int]) -> None:
    from fhir_gateway import hooks

    if not hooks.write_listeners:
        return
    changes = [
        Change(r.write.resource_type, r.write.fhir_id, r.version_id, r.write.method, r.row.owner, r.content)
        for r in results
        if r.row is not None and id(r.row) not in unchanged
    ]
    if changes:
        for listener in hooks.write_listeners:
            listener(actor, changes)


def _plan(write, key, current, sources, now, actor, guard: Guard, patcher) -> Written:
    label = f"{key[0]}/{key[1]}"
    hidden = None
    if current is not None and not guard.visible(write, current):
        hidden, current = current, None  # answered exactly as if it did not exist
    guard.target(write, current)
    if write.if_match is not None and (current is None or current.deleted or current.version_id != write.if_match):
        raise PreconditionFailed(
            _("%(reference)s is not at version %(version)s") % {"reference": label, "version": write.if_match}
        )
    if write.method == "DELETE" and (current is None or current.deleted):
        version = current.version_id if current else 0
        return Written(write, 204, version, None, None, None, False, changed=False, previous=current)
    content = write.content
    if write.method == "PATCH":
        if current is None:
            raise NotFound(_("%(reference)s is not known") % {"reference": label})
        if current.deleted:
            raise Gone(_("%(reference)s was deleted") % {"reference": label})
        text = sources[current.pk]
        content = patcher(orjson.loads(text), write.patch, max_resource_bytes() - len(text))
    created = current is None or current.deleted
    if content is not None:
        content = dict(content)  # with its own meta: stampers must not touch the caller's dicts
        content["id"] = key[1]  # the hub's to say; the stampers see it
        content["meta"] = dict(content.get("meta") or {})
        if write.source:  # before the stampers, which have the last word on meta.source
            content["meta"]["source"] = write.source
    guard.prepare(write, content, current)
    if hidden is not None:
        # The policies would let the actor create this id, but a record it may not see holds it (ids of one
        # namespace at two owners): refused like any create the actor may not make, nothing said of it.
        raise FhirError(403, _("%(reference)s cannot be written by you") % {"reference": label}, code="forbidden")
    owner = write.owner if write.owner is not None else (current.owner if current else actor.site)
    if not created and content is not None and owner == current.owner and current.pk in sources:
        stored = orjson.loads(sources[current.pk])
        if _same(stored, content):  # a no-op update keeps the current version (as HAPI does)
            last_updated = current.last_updated
            return Written(write, 200, current.version_id, last_updated, stored, sources[current.pk], False, False)
    source = ((content or {}).get("meta") or {}).get("source") or ""
    row = VersionRow(
        resource_type=key[0],
        fhir_id=key[1],
        version_id=(current.version_id + 1) if current else 1,
        last_updated=now,
        method=write.method,
        content=content,
        text=None,
        source=source[:255],
        owner=owner[:64],
        pk=current.pk if current else None,
    )
    if content is not None:
        _stamp(row, content)
    status = 201 if created else (204 if write.method == "DELETE" else 200)
    return Written(write, status, row.version_id, now, content, row.text, created, previous=current, row=row)


def _store(rows: list[VersionRow], actor: Actor) -> tuple[set[int], set[int]]:
    """Write ``rows`` in bulk; the ``id()`` of those that found their resource created meanwhile, and of those
    that found it created with the same content (nothing stored)."""
    fresh = [r for r in rows if r.pk is None]
    updates = [r for r in rows if r.pk is not None]
    who = {"kind": actor.kind, "actor": actor.id[:128], "display": actor.display[:255]}
    inserted = repository.insert(fresh, actor=who)
    raced = []
    for row in fresh:
        row.pk = inserted.get((row.resource_type, row.fhir_id))
        if row.pk is None:
            raced.append(row)
    unchanged = _raced_resolve(raced, updates) if raced else set()
    repository.update(updates, actor=who)
    index_write([IndexRow(r.pk, r.resource_type, r.content) for r in rows if id(r) not in unchanged])
    return {id(r) for r in raced}, unchanged


def _raced_resolve(raced: list[VersionRow], updates: list[VersionRow]) -> set[int]:
    """Another writer created these ids since we looked (update-as-create racing): version on top of
    theirs, or keep theirs when this write says the same. Returns the ``id()`` of the unchanged rows."""
    currents = repository.lock([(r.resource_type, r.fhir_id) for r in raced])
    texts = repository.contents([c.pk for c in currents.values()])
    unchanged = set()
    for row in raced:
        current = currents[(row.resource_type, row.fhir_id)]
        if current.owner != row.owner:
            # The write was allowed as a create for its own owner; it never becomes an update of (or a change
            # of owner for) another owner's record. The client may retry and is then judged on that record.
            raise Conflict(
                _("%(reference)s was created by another request meanwhile; retry")
                % {"reference": f"{row.resource_type}/{row.fhir_id}"}
            )
        text = texts.get(current.pk)
        if row.content is not None and not current.deleted and text and _same(orjson.loads(text), row.content):
            row.pk, row.version_id, row.last_updated, row.text = (
                current.pk,
                current.version_id,
                current.last_updated,
                text,
            )
            row.content = orjson.loads(text)
            unchanged.add(id(row))
            continue
        row.pk, row.version_id = current.pk, current.version_id + 1
        if row.content is not None:
            _stamp(row, row.content)
        updates.append(row)
    return unchanged
