"""The gateway's public Python API: every FHIR interaction as a keyword-only function.

The REST views and the hub's other apps (federation, referrals) call these; each passes through
``interactions.interaction_scope`` (authentication, access policies, write stampers, observers).
Writes run in one database transaction with their search-index rows.

Behaviour worth knowing: a create ignores the client's id; an update or patch that changes nothing
keeps the current version (status 200, no new history entry); conditional writes with the same
criteria are serialised, so racing deliveries of one record make one resource; ``owner`` defaults to
the actor's site on create and is kept on update; refusals raise ``fhir_gateway.errors.FhirError``.
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime

import orjson
from django.db import transaction
from django.utils.translation import gettext as _

from fhir_gateway import conditional, hooks, validation
from fhir_gateway.context import REQUEST, TARGET, Actor, Interaction
from fhir_gateway.errors import FhirError, Gone, NotFound
from fhir_gateway.history import history_bundle
from fhir_gateway.interactions import Scope, atomic_deferred, interaction_scope
from fhir_gateway.patch import any_patch_apply
from fhir_gateway.search import engine, extract
from fhir_gateway.storage import Current, Stored, repository
from fhir_gateway.storage.writes import Write, Written, instant, writes_apply


@dataclass
class WriteResult:
    """The outcome of a write: HTTP ``status``, the stored resource (None once deleted) and its version."""

    status: int
    resource: dict | None
    created: bool
    version_id: str
    location: str
    last_updated: str = ""
    text: str | None = None  # the stored JSON, as served


def warm_up() -> None:
    """Build the validator and every type's search-index plan now (a process's start-up), not on first use."""
    validation.warm_up()
    extract.warm_up()


def type_check(resource_type: str) -> None:
    if not validation.is_resource_type(resource_type):
        raise FhirError(404, _("Unknown resource type %(type)r") % {"type": resource_type[:80]}, code="not-supported")


def virtual_check(resource_type: str | None) -> None:
    """A type another app serves read-only (``hooks.virtual_types``) takes reads and searches only: a 405."""
    if resource_type in hooks.virtual_types:
        raise FhirError(
            405,
            _("%(type)s records are read-only here: read and search them") % {"type": resource_type},
            code="not-supported",
            headers={"Allow": "GET"},
        )


def _virtual_stored(resource_type: str, fhir_id: str, content: dict) -> Stored:
    """A virtual type's record as the REST API serves a stored one (always its first version)."""
    updated = (content.get("meta") or {}).get("lastUpdated") or content.get("recorded")
    return Stored(
        pk=0,
        resource_type=resource_type,
        fhir_id=fhir_id,
        version_id=1,
        last_updated=datetime.fromisoformat(updated.replace("Z", "+00:00")),
        deleted=False,
        text=orjson.dumps(content).decode(),
    )


def _returned(bundle: dict, limit: int = 100) -> list[str]:
    """``Type/id`` of a searchset's matches (the first ``limit``), for the audit trail."""
    refs = []
    for entry in bundle.get("entry") or ():
        if (entry.get("search") or {}).get("mode", "match") == "match" and entry.get("fullUrl"):
            refs.append("/".join(entry["fullUrl"].rsplit("/", 2)[-2:]))
            if len(refs) >= limit:
                break
    return refs


def _result(written: Written) -> WriteResult:
    w = written.write
    return WriteResult(
        status=written.status,
        resource=written.content,
        created=written.created,
        version_id=str(written.version_id),
        location=f"{w.resource_type}/{w.fhir_id}/_history/{written.version_id}",
        last_updated=instant(written.last_updated) if written.last_updated else "",
        text=written.text,
    )


class WriteGuard:
    """The access policies of a write's interaction, asked by the storage for each write (``writes.Guard``);
    ``scope_of(write)`` is the interaction scope of the write (one per entry in a transaction)."""

    def __init__(self, scope_of):
        self.scope_of = scope_of

    def visible(self, write: Write, current: Current) -> bool:
        return self.scope_of(write).visible(write.resource_type, write.fhir_id, current.owner, current.pk)

    def target(self, write: Write, current: Current | None) -> None:
        scope = self.scope_of(write)
        detail = scope.interaction.detail
        detail["owner"] = current.owner if current else (write.owner or scope.interaction.actor.site)
        detail["creating"] = current is None or current.deleted
        detail["exists"] = current is not None  # a deleted record of the caller's revived keeps its id and owner
        detail["method"] = write.method  # PUT: the client chose the id
        detail["current_source"] = current.source if current else ""
        scope.authorize(None, TARGET)

    def prepare(self, write: Write, content: dict | None, current: Current | None) -> None:
        scope = self.scope_of(write)
        scope.authorize(content)
        if content is not None:
            scope.stamp(content)


def _patched(resource_type: str, fhir_id: str):
    def patcher(document: dict, operations: list, growth: int | None = None) -> dict:
        result = any_patch_apply(document, operations, growth)
        if result.get("resourceType") != resource_type or result.get("id") != fhir_id:
            raise FhirError(422, _("A patch may not change resourceType or id"), code="processing")
        validation.resource_check(result, expected_type=resource_type)
        return result

    return patcher


def _write(scope: Scope, write: Write) -> WriteResult:
    with transaction.atomic():
        written = writes_apply(
            [write],
            actor=scope.interaction.actor,
            guard=WriteGuard(lambda _write: scope),
            patcher=_patched(write.resource_type, write.fhir_id),
        )[0]
        result = _result(written)
        scope.done(result.status, result.resource)
        scope.record()  # the audit trail's row, in the write's own transaction
    return result


def _if_match(value: str | None) -> int | None:
    """``W/"3"`` (or ``3``) as 3; anything else is a stale precondition."""
    if value is None:
        return None
    digits = value.strip().removeprefix("W/").strip('"')
    if not digits.isdigit():
        raise FhirError(412, _("If-Match %(value)r is not a version ETag") % {"value": value}, code="conflict")
    return int(digits)


def resource_create(
    *,
    resource: dict,
    actor: Actor,
    if_none_exist: str | None = None,
    source: str | None = None,
    owner: str | None = None,
) -> WriteResult:
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    interaction = Interaction(actor=actor, action="create", resource_type=resource_type, source=source or "")
    with interaction_scope(interaction) as scope:
        virtual_check(resource_type)
        scope.authorize(None, REQUEST)
        fhir_id = str(uuid.uuid4())
        if isinstance(resource, dict) and "id" in resource:
            resource = {**resource, "id": fhir_id}  # a create ignores the client's id
        validation.resource_check(resource)
        if if_none_exist:
            with transaction.atomic():
                found = conditional.matches_find(resource_type=resource_type, query=if_none_exist, actor=actor)
                if len(found) > 1:
                    raise conditional.too_many(resource_type, if_none_exist)
                if found:  # one the actor may see: answered with it, as a read of it
                    stored = _load(scope, resource_type, found[0][1])
                    interaction.detail["creating"] = False
                    content = orjson.loads(stored.text)
                    scope.authorize(content)
                    scope.done(200, content)
                    return WriteResult(200, content, False, str(stored.version_id), _location(stored), text=stored.text)
                interaction.fhir_id = fhir_id
                return _write(scope, Write("POST", resource_type, fhir_id, resource, source=source, owner=owner))
        interaction.fhir_id = fhir_id
        return _write(scope, Write("POST", resource_type, fhir_id, resource, source=source, owner=owner))


@dataclass(frozen=True)
class CreateOnce:
    """A resource to create unless one matching ``criteria`` (e.g. ``identifier=system|value``) exists."""

    resource: dict
    criteria: str
    owner: str | None = None


def resources_create_once(*, items: list[CreateOnce], actor: Actor, source: str | None = None) -> list[str]:
    """``Type/id`` of each item's resource: the one matching its criteria that ``actor`` may see, else the one
    created now (a retried write finds the first). ``resource_create`` with ``if_none_exist`` for each, at a
    transaction Bundle's cost: one transaction, one lock statement, one matching statement, one write of the new
    ones, each create audited as its own. A refused item refuses them all (``FhirError``, ``position`` its index);
    two items with the same criteria are one resource."""
    if not items:
        return []
    parsed = []
    for position, item in enumerate(items):
        try:
            validation.resource_check(item.resource)  # the type too; the id it gets below is a valid one
            virtual_check(item.resource["resourceType"])
            parsed.append((item.resource["resourceType"], conditional.criteria_parse(item.criteria)))
        except FhirError as error:
            raise _at(position, error) from None
    with atomic_deferred() as deferred:  # every create's audit row in the transaction itself
        keys = [conditional.lock_key(t, params) for t, params in parsed]
        repository.lock_conditions(keys)
        matcher = engine.Matcher(actor=actor, limit=2)
        for resource_type, params in parsed:
            matcher.add(resource_type, params)
        found = matcher.run()
        ids = conditional.ids_of([pks[0] for pks in found if len(pks) == 1])
        answers: list[str] = []
        writes: list[Write] = []
        positions: list[int] = []  # each write's item
        first_of: dict[str, str] = {}
        for position, (item, (resource_type, _params), key, pks) in enumerate(
            zip(items, parsed, keys, found, strict=True)
        ):
            if len(pks) > 1:
                raise _at(position, conditional.too_many(resource_type, item.criteria))
            if pks or key in first_of:
                answers.append(f"{resource_type}/{ids[pks[0]]}" if pks else first_of[key])
                continue
            fhir_id = str(uuid.uuid4())
            resource = {**item.resource, "id": fhir_id}
            writes.append(Write("POST", resource_type, fhir_id, resource, source=source, owner=item.owner))
            positions.append(position)
            answers.append(first_of.setdefault(key, f"{resource_type}/{fhir_id}"))
        with ExitStack() as stack:
            scopes = {}
            for write in writes:
                interaction = Interaction(
                    actor=actor,
                    action="create",
                    resource_type=write.resource_type,
                    fhir_id=write.fhir_id,
                    source=source or "",
                )
                scope = stack.enter_context(interaction_scope(interaction, deferred=deferred))
                scope.authorize(None, REQUEST)
                scopes[(write.resource_type, write.fhir_id)] = scope
            guard = WriteGuard(lambda write: scopes[(write.resource_type, write.fhir_id)])
            try:
                written = writes_apply(writes, actor=actor, guard=guard)
            except FhirError as error:
                at = getattr(error, "position", None)
                raise error if at is None else _at(positions[at], error) from None
            for write, result in zip(writes, written, strict=True):
                scopes[(write.resource_type, write.fhir_id)].done(result.status, result.content)
    return answers


def _at(position: int, error: FhirError) -> FhirError:
    error.position = position
    return error


def _location(stored: Stored) -> str:
    return f"{stored.resource_type}/{stored.fhir_id}/_history/{stored.version_id}"


def _load(scope: Scope, resource_type: str, fhir_id: str) -> Stored:
    stored = repository.current(resource_type, fhir_id)
    if stored is None or not scope.visible(resource_type, fhir_id, stored.owner, stored.pk):
        raise NotFound(_("%(reference)s is not known") % {"reference": f"{resource_type}/{fhir_id}"})
    scope.interaction.detail["owner"] = stored.owner
    if stored.deleted:  # said only to those who may see the record
        raise Gone(
            _("%(reference)s was deleted") % {"reference": f"{resource_type}/{fhir_id}"},
            headers={"ETag": f'W/"{stored.version_id}"'},
        )
    return stored


def resource_read_stored(*, resource_type: str, fhir_id: str, actor: Actor) -> tuple[Stored, dict]:
    """The current version as stored (its JSON text, for serving as is) and as a dict."""
    interaction = Interaction(actor=actor, action="read", resource_type=resource_type, fhir_id=fhir_id)
    with interaction_scope(interaction) as scope:
        type_check(resource_type)
        scope.authorize(None, REQUEST)
        provider = hooks.virtual_types.get(resource_type)
        if provider is not None:
            content = provider.read(actor, fhir_id)
            if content is None:
                raise NotFound(_("%(reference)s is not known") % {"reference": f"{resource_type}/{fhir_id}"})
            scope.done(200, content)
            return _virtual_stored(resource_type, fhir_id, content), content
        stored = _load(scope, resource_type, fhir_id)
        content = orjson.loads(stored.text)
        scope.authorize(content)
        scope.done(200, content)
        return stored, content


def resource_read(*, resource_type: str, fhir_id: str, actor: Actor) -> dict:
    return resource_read_stored(resource_type=resource_type, fhir_id=fhir_id, actor=actor)[1]


def resource_vread_stored(*, resource_type: str, fhir_id: str, version_id: str, actor: Actor) -> tuple[Stored, dict]:
    interaction = Interaction(actor=actor, action="vread", resource_type=resource_type, fhir_id=fhir_id)
    interaction.detail["version_id"] = version_id
    with interaction_scope(interaction) as scope:
        type_check(resource_type)
        provider = hooks.virtual_types.get(resource_type)
        scope.authorize(None, REQUEST)
        if provider is not None:  # a virtual record has one version
            content = provider.read(actor, fhir_id) if version_id == "1" else None
            if content is None:
                raise NotFound(
                    _("%(reference)s is not known") % {"reference": f"{resource_type}/{fhir_id}/_history/{version_id}"}
                )
            scope.done(200, content)
            return _virtual_stored(resource_type, fhir_id, content), content
        stored = repository.version(resource_type, fhir_id, int(version_id)) if version_id.isdigit() else None
        if stored is None or not scope.visible(resource_type, fhir_id, stored.owner, stored.pk):
            raise NotFound(
                _("%(reference)s is not known") % {"reference": f"{resource_type}/{fhir_id}/_history/{version_id}"}
            )
        scope.interaction.detail["owner"] = stored.owner
        if stored.deleted:
            raise Gone(
                _("%(reference)s was deleted in version %(version)s")
                % {"reference": f"{resource_type}/{fhir_id}", "version": version_id}
            )
        content = orjson.loads(stored.text)
        scope.authorize(content)
        scope.done(200, content)
        return stored, content


def resource_vread(*, resource_type: str, fhir_id: str, version_id: str, actor: Actor) -> dict:
    return resource_vread_stored(resource_type=resource_type, fhir_id=fhir_id, version_id=version_id, actor=actor)[1]


def _update_check(resource_type: str, fhir_id: str | None, resource: dict) -> None:
    type_check(resource_type)
    validation.resource_check(resource, expected_type=resource_type)
    if fhir_id is not None and resource.get("id") != fhir_id:
        raise FhirError(400, _("The resource's id must match the id in the URL"), code="invalid", expression=["id"])


def resource_update(
    *,
    resource_type: str,
    fhir_id: str,
    resource: dict,
    actor: Actor,
    if_match: str | None = None,
    source: str | None = None,
    owner: str | None = None,
) -> WriteResult:
    """Update, or create with the client's id when absent (update-as-create)."""
    interaction = Interaction(
        actor=actor, action="update", resource_type=resource_type, fhir_id=fhir_id, source=source or ""
    )
    with interaction_scope(interaction) as scope:
        type_check(resource_type)
        virtual_check(resource_type)
        scope.authorize(None, REQUEST)
        _update_check(resource_type, fhir_id, resource)
        write = Write("PUT", resource_type, fhir_id, resource, if_match=_if_match(if_match), source=source, owner=owner)
        return _write(scope, write)


def resource_conditional_update(
    *,
    resource_type: str,
    query: str,
    resource: dict,
    actor: Actor,
    if_match: str | None = None,
    source: str | None = None,
    owner: str | None = None,
) -> WriteResult:
    """PUT ``[type]?criteria``: no match creates, one match updates it, several give 412."""
    interaction = Interaction(actor=actor, action="update", resource_type=resource_type, source=source or "")
    interaction.detail["criteria"] = query
    with interaction_scope(interaction) as scope, transaction.atomic():
        type_check(resource_type)
        virtual_check(resource_type)
        scope.authorize(None, REQUEST)
        _update_check(resource_type, None, resource)
        found = conditional.matches_find(resource_type=resource_type, query=query, actor=actor)
        if len(found) > 1:
            raise conditional.too_many(resource_type, query)
        if found:
            fhir_id = found[0][1]
            if resource.get("id") not in (None, fhir_id):
                raise FhirError(400, _("The resource's id differs from the matching resource's"), expression=["id"])
        else:
            fhir_id = resource.get("id") or str(uuid.uuid4())
        interaction.fhir_id = fhir_id
        method = "PUT" if found or resource.get("id") else "POST"
        write = Write(
            method, resource_type, fhir_id, resource, if_match=_if_match(if_match), source=source, owner=owner
        )
        return _write(scope, write)


def resource_patch(
    *, resource_type: str, fhir_id: str, patch: list | dict, actor: Actor, if_match: str | None = None
) -> WriteResult:
    """JSON Patch (a list of operations), FHIRPath Patch (a Parameters resource) or JSON Merge Patch (an
    object) of the current version."""
    interaction = Interaction(actor=actor, action="patch", resource_type=resource_type, fhir_id=fhir_id)
    with interaction_scope(interaction) as scope:
        type_check(resource_type)
        virtual_check(resource_type)
        scope.authorize(None, REQUEST)
        if not isinstance(patch, list | dict):
            raise FhirError(400, _("A patch must be a JSON Patch array or a JSON Merge Patch object"), code="structure")
        return _write(scope, Write("PATCH", resource_type, fhir_id, patch=patch, if_match=_if_match(if_match)))


def resource_delete(*, resource_type: str, fhir_id: str, actor: Actor, if_match: str | None = None) -> WriteResult:
    interaction = Interaction(actor=actor, action="delete", resource_type=resource_type, fhir_id=fhir_id)
    with interaction_scope(interaction) as scope:
        type_check(resource_type)
        virtual_check(resource_type)
        scope.authorize(None, REQUEST)
        return _write(scope, Write("DELETE", resource_type, fhir_id, if_match=_if_match(if_match)))


def resource_conditional_delete(*, resource_type: str, query: str, actor: Actor) -> WriteResult:
    """DELETE ``[type]?criteria``: deletes the one match (none: nothing to do; several: 412)."""
    interaction = Interaction(actor=actor, action="delete", resource_type=resource_type)
    interaction.detail["criteria"] = query
    with interaction_scope(interaction) as scope, transaction.atomic():
        type_check(resource_type)
        virtual_check(resource_type)
        scope.authorize(None, REQUEST)
        found = conditional.matches_find(resource_type=resource_type, query=query, actor=actor)
        if len(found) > 1:
            raise conditional.too_many(resource_type, query)
        if not found:
            scope.done(204)
            return WriteResult(204, None, False, "", "")
        interaction.fhir_id = found[0][1]
        return _write(scope, Write("DELETE", resource_type, found[0][1]))


def resource_history(
    *,
    resource_type: str | None = None,
    fhir_id: str | None = None,
    actor: Actor,
    params: list[tuple[str, str]],
    base_url: str,
) -> dict:
    """A history Bundle at instance, type or system level (http://hl7.org/fhir/R4/http.html#history)."""
    interaction = Interaction(actor=actor, action="history", resource_type=resource_type, fhir_id=fhir_id)
    with interaction_scope(interaction) as scope:
        if resource_type is not None:
            type_check(resource_type)
            virtual_check(resource_type)
        scope.authorize(None, REQUEST)
        if fhir_id is not None:
            stored = repository.current(resource_type, fhir_id)
            # A deleted record's history too is shown only to those who may see the record.
            if stored is None or not scope.visible(resource_type, fhir_id, stored.owner, stored.pk):
                raise NotFound(_("%(reference)s is not known") % {"reference": f"{resource_type}/{fhir_id}"})
            scope.interaction.detail["owner"] = stored.owner
            scope.authorize(orjson.loads(stored.text) if stored.text else None)
        bundle = history_bundle(
            resource_type=resource_type, fhir_id=fhir_id, actor=actor, params=params, base_url=base_url
        )
        scope.done(200)
        return bundle


def resource_validate(
    *,
    resource: dict | None,
    actor: Actor,
    resource_type: str | None = None,
    fhir_id: str | None = None,
    mode: str | None = None,
    profile: str | None = None,
) -> dict:
    """``$validate`` (http://hl7.org/fhir/R4/resource-operation-validate.html): an OperationOutcome.

    Errors, warnings and information (what the hub does not check); ``mode`` create, update or delete;
    ``profile``: a StructureDefinition the hub stores. At instance level without a resource, the stored one.
    """
    interaction = Interaction(
        actor=actor, action="operation", resource_type=resource_type, fhir_id=fhir_id, operation="$validate"
    )
    with interaction_scope(interaction) as scope:
        if resource_type is not None:
            type_check(resource_type)
        if mode not in (None, "create", "update", "delete"):
            raise FhirError(400, _("mode must be create, update or delete"), code="value", expression=["mode"])
        scope.authorize(None, REQUEST)
        if fhir_id is not None and (mode in ("update", "delete") or resource is None):
            stored = orjson.loads(_load(scope, resource_type, fhir_id).text)
            scope.authorize(stored)
            resource = stored if resource is None else resource
        issues = _validation_issues(resource=resource, resource_type=resource_type, fhir_id=fhir_id, mode=mode)
        if profile and mode != "delete":
            issues += validation.profile_validate(resource, profile)
        if not any(i["severity"] in ("error", "fatal", "warning") for i in issues):
            issues.insert(0, validation.ok_issue())
        scope.done(200)
        return {"resourceType": "OperationOutcome", "issue": issues}


def _validation_issues(*, resource: object, resource_type: str | None, fhir_id: str | None, mode: str | None) -> list:
    if mode == "delete":
        return [validation.ok_issue("mode-delete")]  # the hub enforces no references on delete
    issues = validation.resource_issues(resource, expected_type=resource_type)
    if mode == "update" and isinstance(resource, dict):
        if not resource.get("id"):
            problem = FhirError(400, _("An update needs the resource's id"), code="required", expression=["id"])
            issues.insert(0, problem.issues[0])
        elif fhir_id is not None and resource.get("id") != fhir_id:
            problem = FhirError(400, _("The resource's id must match the id in the URL"), expression=["id"])
            issues.insert(0, problem.issues[0])
    return issues


def bundle_process(*, bundle: dict, actor: Actor, base_url: str, prefer: str = "minimal") -> dict:
    """A batch or transaction Bundle's response Bundle (http://hl7.org/fhir/R4/http.html#transaction).

    ``prefer="representation"`` puts each stored resource in its response entry.
    """
    from fhir_gateway.bundles import bundle_run

    return bundle_run(bundle=bundle, actor=actor, base_url=base_url, prefer=prefer)


def resource_search(
    *,
    resource_type: str | None,
    params: list[tuple[str, str]],
    actor: Actor,
    base_url: str,
    strict: bool = False,
    raw: bool = False,
) -> dict:
    """A searchset Bundle (type level, or system level when ``resource_type`` is None); ``raw`` as in
    ``search.engine.search`` (resources as stored JSON fragments, for orjson to write)."""
    interaction = Interaction(actor=actor, action="search", resource_type=resource_type)
    interaction.detail["params"] = params
    with interaction_scope(interaction) as scope:
        if resource_type is not None:
            type_check(resource_type)
        provider = hooks.virtual_types.get(resource_type) if resource_type else None
        if provider is not None:
            interaction.detail["types"] = frozenset({resource_type})
            scope.authorize(None, REQUEST)
            bundle = provider.search(actor, params, base_url.rstrip("/"))
        else:
            interaction.detail["types"] = engine.types_named(resource_type, params)
            scope.authorize(None, REQUEST)
            bundle = engine.search(
                resource_type=resource_type, params=params, actor=actor, base_url=base_url, strict=strict, raw=raw
            )
        interaction.detail["returned"] = _returned(bundle)
        interaction.detail["total"] = bundle.get("total", len(bundle.get("entry") or ()))
        scope.done(200)
        return bundle


def resources_matching(
    *, resource_type: str, criteria: list[tuple[str, str]], fhir_ids: list[str], actor: Actor
) -> set[str]:
    """Which of ``fhir_ids`` (current records of ``resource_type``) match the search ``criteria`` among the
    records ``actor`` may read now: a search as the actor (access policies, audit), narrowed by ``_id``.
    For those who act on what a search would find (Subscriptions); unknown parameters are a 400."""
    interaction = Interaction(actor=actor, action="search", resource_type=resource_type)
    params = [*criteria, ("_id", ",".join(fhir_ids) or "-")]
    interaction.detail["params"] = params
    with interaction_scope(interaction) as scope:
        type_check(resource_type)
        interaction.detail["types"] = engine.types_named(resource_type, params)
        scope.authorize(None, REQUEST)
        pks = engine.match_pks(resource_type=resource_type, params=params, actor=actor)
        found = set(conditional.ids_of(pks).values()) if pks else set()
        scope.done(200)
        return found


def patient_everything(*, fhir_id: str, params: list[tuple[str, str]], actor: Actor, base_url: str) -> dict:
    """``Patient/[id]/$everything`` (http://hl7.org/fhir/R4/patient-operation-everything.html)."""
    interaction = Interaction(
        actor=actor, action="operation", resource_type="Patient", fhir_id=fhir_id, operation="$everything"
    )
    with interaction_scope(interaction) as scope:
        types = next((value for name, value in params if name == "_type"), "")
        interaction.detail["types"] = frozenset({"Patient", *(t for t in types.split(",") if t)})
        scope.authorize(None, REQUEST)
        stored = _load(scope, "Patient", fhir_id)
        scope.authorize(orjson.loads(stored.text))
        bundle = engine.patient_everything(fhir_id=fhir_id, params=params, actor=actor, base_url=base_url)
        scope.done(200)
        return bundle
