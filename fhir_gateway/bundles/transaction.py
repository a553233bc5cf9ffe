"""Transactions: all or nothing, in the spec's order (http://hl7.org/fhir/R4/http.html#trules).

Every write of the Bundle is stored by one ``writes_apply`` call (bulk statements), inside one
database transaction; each entry still passes through its own interaction scope (policies,
stampers), and observers hear of the entries only once the transaction has committed.
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack

import orjson
from django.utils.translation import gettext as _

from fhir_gateway import conditional, services, validation
from fhir_gateway.bundles.entries import ORDER, Entry, entry_error, entry_parse
from fhir_gateway.bundles.references import conditional_references, references_rewrite
from fhir_gateway.context import REQUEST, Actor, Interaction
from fhir_gateway.errors import FhirError
from fhir_gateway.interactions import atomic_deferred, interaction_scope
from fhir_gateway.search import engine
from fhir_gateway.storage import repository
from fhir_gateway.storage.writes import Write, instant, writes_apply

ACTIONS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
STATUS_TEXT = {200: "200 OK", 201: "201 Created", 204: "204 No Content"}


def transaction_run(*, entries: list, actor: Actor, base_url: str, prefer: str) -> dict:
    parsed = [entry_parse(index, raw, base_url) for index, raw in enumerate(entries)]
    with atomic_deferred() as deferred:  # every entry's audit row in the transaction itself
        responses = entries_process(parsed, actor=actor, base_url=base_url, prefer=prefer, deferred=deferred)
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": responses}


def _response(status: int, **fields) -> dict:
    response = {"status": STATUS_TEXT.get(status, str(status))}
    response.update({k: v for k, v in fields.items() if v})
    return response


class _Plan:
    """The ids, reference mapping and ready-to-store writes of a transaction's entries."""

    def __init__(self, actor: Actor):
        self.actor = actor
        self.mapping: dict[str, str] = {}
        self.responses: dict[int, dict] = {}
        self.writes: list[tuple[Entry, Write]] = []

    def match(self, entry: Entry, resource_type: str, query: str, *, lock: bool = True) -> list[tuple[int, str]]:
        found = conditional.matches_find(resource_type=resource_type, query=query, actor=self.actor, lock=lock)
        if len(found) > 1:
            raise entry_error(entry.index, conditional.too_many(resource_type, query))
        return found

    def resolve_references(self, texts: list[tuple[Entry, str]]) -> None:
        """Resolve every conditional reference of the Bundle (each must match exactly one resource)."""
        wanted: dict[str, Entry] = {}
        for entry, text in texts:
            for reference in conditional_references(text):
                wanted.setdefault(reference, entry)
        matcher = engine.Matcher(actor=self.actor, limit=2)
        for reference, entry in wanted.items():
            resource_type, _sep, query = reference.partition("?")
            if not validation.is_resource_type(resource_type):
                raise entry_error(
                    entry.index,
                    FhirError(
                        400, _("Conditional reference %(reference)r names no resource type") % {"reference": reference}
                    ),
                )
            try:
                matcher.add(resource_type, conditional.criteria_parse(query))
            except FhirError as error:
                raise entry_error(entry.index, error) from None
        # One statement for all of them. Only records the actor may see can be named: "matches nothing" says
        # nothing of the others.
        found = matcher.run()
        matches: dict[str, int] = {}
        for (reference, entry), pks in zip(wanted.items(), found, strict=True):
            if len(pks) != 1:
                problem = _("matches nothing") if not pks else _("matches more than one resource")
                raise entry_error(
                    entry.index,
                    FhirError(
                        412,
                        _("Conditional reference %(reference)r %(problem)s")
                        % {"reference": reference, "problem": problem},
                    ),
                )
            matches[reference] = pks[0]
        if matches:
            ids = conditional.ids_of(list(matches.values()))
            for reference, pk in matches.items():
                self.mapping[reference] = f"{reference.partition('?')[0]}/{ids[pk]}"

    def assign(self, entry: Entry, base_url: str) -> None:
        """Pick the id each entry writes (conditional criteria resolved) and map its fullUrl to it."""
        method, fhir_id = entry.method, entry.fhir_id
        if method == "POST":
            if entry.if_none_exist:
                found = self.match(entry, entry.resource_type, entry.if_none_exist)
                if found:
                    stored = repository.current(entry.resource_type, found[0][1])
                    self._map(entry, found[0][1])
                    self.responses[entry.index] = {
                        "fullUrl": f"{base_url}/{entry.resource_type}/{stored.fhir_id}",
                        "response": _response(
                            200,
                            location=_location(entry.resource_type, stored.fhir_id, stored.version_id),
                            etag=f'W/"{stored.version_id}"',
                            lastModified=instant(stored.last_updated),
                        ),
                    }
                    return
            fhir_id = str(uuid.uuid4())
        elif entry.query and not fhir_id:
            found = self.match(entry, entry.resource_type, entry.query)
            if found:
                fhir_id = found[0][1]
            elif method == "DELETE":
                self.responses[entry.index] = {"response": _response(204)}
                return
            else:
                fhir_id = (entry.resource or {}).get("id") or str(uuid.uuid4())
                method = "PUT" if (entry.resource or {}).get("id") else "POST"
        self._map(entry, fhir_id)
        self.writes.append((entry, Write(method, entry.resource_type, fhir_id, entry.resource, patch=entry.patch)))

    def _map(self, entry: Entry, fhir_id: str) -> None:
        if entry.full_url:
            self.mapping[entry.full_url] = f"{entry.resource_type}/{fhir_id}"

    def finish(self) -> None:
        """Rewrite references in every resource to write, then validate it."""
        self.mapping = {key: value for key, value in self.mapping.items() if key != value}
        texts = [(entry, orjson.dumps(write.content).decode()) for entry, write in self.writes if write.content]
        self.resolve_references(texts)
        by_index = {entry.index: text for entry, text in texts}
        for entry, write in self.writes:
            if write.content is None:
                continue
            try:
                content = references_rewrite(write.content, by_index[entry.index], self.mapping)
                if write.method == "POST" and content.get("id") != write.fhir_id:
                    content = {**content, "id": write.fhir_id}  # a create ignores the client's id
                validation.resource_check(content, expected_type=entry.resource_type)
            except FhirError as error:
                raise entry_error(entry.index, error) from None
            write.content = content
            if entry.if_match:
                write.if_match = services._if_match(entry.if_match)


def _location(resource_type: str, fhir_id: str, version_id: int) -> str:
    return f"{resource_type}/{fhir_id}/_history/{version_id}"


def entries_process(entries: list[Entry], *, actor: Actor, base_url: str, prefer: str, deferred: list) -> list[dict]:
    """Process ``entries`` inside the caller's transaction; their response entries, in Bundle order."""
    base_url = base_url.rstrip("/")
    plan = _Plan(actor)
    ordered = sorted(entries, key=lambda e: ORDER[e.method])
    for entry in ordered:
        if entry.method != "GET":
            plan.assign(entry, base_url)
    plan.finish()
    _writes_store(plan, actor=actor, base_url=base_url, prefer=prefer, deferred=deferred)
    for entry in ordered:
        if entry.method == "GET":
            plan.responses[entry.index] = _read(entry, actor=actor, base_url=base_url)
    return [plan.responses[entry.index] for entry in entries]


def _writes_store(plan: _Plan, *, actor: Actor, base_url: str, prefer: str, deferred: list) -> None:
    if not plan.writes:
        return
    scopes = {}
    with ExitStack() as stack:
        for entry, write in plan.writes:
            interaction = Interaction(
                actor=actor, action=ACTIONS[entry.method], resource_type=write.resource_type, fhir_id=write.fhir_id
            )
            scopes[(write.resource_type, write.fhir_id)] = stack.enter_context(
                interaction_scope(interaction, deferred=deferred)
            )

        for (resource_type, _fhir_id), scope in scopes.items():
            services.virtual_check(resource_type)
            scope.authorize(None, REQUEST)
        guard = services.WriteGuard(lambda write: scopes[(write.resource_type, write.fhir_id)])
        writes = [write for _entry, write in plan.writes]
        try:
            written = writes_apply(writes, actor=actor, guard=guard, patcher=_patcher)
        except FhirError as error:
            position = getattr(error, "position", None)
            raise error if position is None else entry_error(plan.writes[position][0].index, error) from None
        for (entry, write), result in zip(plan.writes, written, strict=True):
            scopes[(write.resource_type, write.fhir_id)].done(result.status, result.content)
            entry_response: dict = {"fullUrl": f"{base_url}/{write.resource_type}/{write.fhir_id}"}
            if result.content is not None and prefer == "representation":
                entry_response["resource"] = result.content
            entry_response["response"] = _response(
                result.status,
                location=_location(write.resource_type, write.fhir_id, result.version_id)
                if result.version_id and write.method != "DELETE"
                else "",
                etag=f'W/"{result.version_id}"' if result.version_id else "",
                lastModified=instant(result.last_updated) if result.last_updated else "",
            )
            plan.responses[entry.index] = entry_response


def _patcher(document: dict, operations: list, growth: int | None = None) -> dict:
    return services._patched(document["resourceType"], document["id"])(document, operations, growth)


def _read(entry: Entry, *, actor: Actor, base_url: str) -> dict:
    try:
        if entry.fhir_id and entry.version_id:
            stored, content = services.resource_vread_stored(
                resource_type=entry.resource_type, fhir_id=entry.fhir_id, version_id=entry.version_id, actor=actor
            )
        elif entry.fhir_id:
            stored, content = services.resource_read_stored(
                resource_type=entry.resource_type, fhir_id=entry.fhir_id, actor=actor
            )
        else:
            params = conditional.criteria_parse(entry.query) if entry.query else []
            # Through the service: the access policies (SMART scopes of every type the search names) and the
            # audit trail see a Bundle's searches as they see any other.
            bundle = services.resource_search(
                resource_type=entry.resource_type, params=params, actor=actor, base_url=base_url
            )
            return {"resource": bundle, "response": _response(200)}
    except FhirError as error:
        raise entry_error(entry.index, error) from None
    return {
        "fullUrl": f"{base_url}/{entry.resource_type}/{entry.fhir_id}",
        "resource": content,
        "response": _response(200, etag=f'W/"{stored.version_id}"', lastModified=instant(stored.last_updated)),
    }
