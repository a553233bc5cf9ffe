"""Search entry points the REST API and the storage call.

- ``search``: type- and system-level search as a searchset Bundle (http://hl7.org/fhir/R4/search.html).
- ``match_pks``: the resources a conditional create/update/delete or conditional reference names;
  ``Matcher`` for many criteria in one statement (a Bundle's conditional references).
- ``patient_everything``: ``Patient/[id]/$everything``.
- ``supported_parameters``: for the CapabilityStatement.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from fhir_gateway.context import Actor
from fhir_gateway.errors import FhirError
from fhir_gateway.search import bundle, everything, includes, query, request
from fhir_gateway.search.criteria import Context
from fhir_gateway.search.definitions import RESOURCE_COLUMNS, common_params, params_for
from fhir_gateway.search.scope import Scope
from fhir_gateway.search.values import content


def match_pks(*, resource_type: str, params: list[tuple[str, str]], actor: Actor | None) -> list[int]:
    """Primary keys of the current, non-deleted resources matching ``params`` (any search criteria) that
    ``actor`` may see (``None``: every resource, for the gateway's own bookkeeping): a conditional
    interaction never matches, and so never reveals, a record its caller may not see."""
    return query.match_ids(Context(strict=True, scope=Scope(actor)), conditional_request(resource_type, params))


def conditional_request(resource_type: str, params: list[tuple[str, str]]) -> request.SearchRequest:
    """``params`` parsed as a conditional interaction's criteria (a ``FhirError`` if they are not)."""
    parsed = request.parse(resource_type, params)
    if not parsed.criteria:
        raise FhirError(400, _("A conditional interaction needs search criteria"), code="invalid")
    return parsed


class Matcher:
    """Many conditional criteria (a Bundle's conditional references) matched in one statement: ``add`` each
    (a ``FhirError`` if it is not valid criteria), then ``run``: for each, up to ``limit`` primary keys of the
    matching resources ``actor`` may see, as ``match_pks`` finds them."""

    def __init__(self, *, actor: Actor | None, limit: int):
        self.scope = Scope(actor)
        self.limit = limit
        self.statements: list[tuple[str, list]] = []

    def add(self, resource_type: str, params: list[tuple[str, str]]) -> None:
        ctx = Context(strict=True, scope=self.scope)
        self.statements.append(query.bounded_match(ctx, conditional_request(resource_type, params), self.limit))

    def run(self) -> list[list[int]]:
        return query.matches_each(self.statements)


def types_named(resource_type: str | None, params: list[tuple[str, str]]) -> frozenset[str]:
    """The resource types a search names (the type searched, ``_type``, the sources and targets of
    ``_include``/``_revinclude``, ``_has`` sources and chain targets), for access policies to check; types
    reached through ``*`` are not named (the actor's visibility filters them)."""
    parsed = request.parse(resource_type, params)
    named = set(parsed.types or ())
    if resource_type:
        named.add(resource_type)
    for include in parsed.includes:
        named.update(t for t in (include.source, include.target) if t and t != "*")
    for name, _value in parsed.criteria:
        for part in name.split("."):
            pieces = part.split(":")
            if pieces[0] == "_has" and len(pieces) > 1:
                named.add(pieces[1])
            elif len(pieces) == 2 and pieces[1][:1].isupper():
                named.add(pieces[1])  # a chain's target type, e.g. subject:Patient.name
    return frozenset(named)


def search(
    *,
    resource_type: str | None,
    params: list[tuple[str, str]],
    actor: Actor,
    base_url: str,
    strict: bool = False,
    raw: bool = False,
) -> dict:
    """A searchset Bundle for ``params`` at type level (or system level when ``resource_type`` is None).

    ``raw``: the entries' resources may be ``orjson.Fragment``s of the stored JSON text, for a caller that
    only serializes the Bundle with orjson (the REST API): they are not parsed and written again.
    """
    base_url = base_url.rstrip("/")
    parsed = request.parse(resource_type, params)
    scope = Scope(actor)
    ctx = Context(base_url=base_url, scope=scope, strict=strict)
    page = query.run(ctx, parsed)
    entries: list[dict] = []
    if page.rows:
        extra, extra_contents = includes.included(page.rows, parsed.includes, scope) if parsed.includes else ([], {})
        as_stored = raw and parsed.summary in (None, "false") and not parsed.elements
        load = bundle.stored if as_stored else bundle.parse
        contents = {pk: load(text) for pk, text in page.contents.items()}
        contents.update((pk, load(text)) for pk, text in extra_contents.items())
        for pk, rtype, fhir_id in page.rows:
            if pk in contents:
                shaped = contents[pk] if as_stored else bundle.shape(contents[pk], parsed.summary, parsed.elements)
                entries.append(bundle.entry(base_url, shaped, "match", rtype, fhir_id))
        for pk, rtype, fhir_id in extra:
            if pk in contents:
                entries.append(bundle.entry(base_url, contents[pk], "include", rtype, fhir_id))
    path = f"{base_url}/{resource_type}" if resource_type else base_url
    return bundle.searchset(
        base_url=base_url, path=path, used=parsed.used, page=page, entries=entries, cursor=parsed.cursor
    )


def patient_everything(*, fhir_id: str, params: list[tuple[str, str]], actor: Actor, base_url: str) -> dict:
    """``Patient/[id]/$everything`` as a searchset Bundle (``_since``, ``_type``, ``_count``)."""
    return everything.patient_everything(fhir_id=fhir_id, params=params, scope=Scope(actor), base_url=base_url)


def supported_parameters(resource_type: str) -> list[dict]:
    """``[{"name", "type", "definition", "documentation"}]`` for the CapabilityStatement."""
    found = params_for(resource_type) or common_params()
    out = [
        {"name": param.code, "type": param.type, "definition": param.url, "documentation": param.description}
        for param in found.values()
        if param.paths or param.code in RESOURCE_COLUMNS or param.code in content.PARAMS
    ]
    return sorted(out, key=lambda item: item["name"])
