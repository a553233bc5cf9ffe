"""The codes of a stored ValueSet, for the token modifiers ``:in`` and ``:not-in``.

http://hl7.org/fhir/R4/search.html#modifiers: ``code:in=http://example.org/fhir/ValueSet/chest-pain``
matches a code of the value set. The value set is one the gateway stores, named by its canonical URL
(``url``, optionally ``|version``) or as ``ValueSet/<id>``. Its codes come from its ``expansion`` when it
has one, else from its ``compose``: listed concepts, whole code systems (an include with a system and no
concepts) and other value sets it includes; excluded concepts are taken out. A definition by filters
(``is-a`` and the like) needs a terminology service and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from django.db import connection
from django.utils.translation import gettext as _

MAX_DEPTH = 5  # value sets including value sets


class ValueSetError(ValueError):
    """The value set is unknown (``code`` "not-found"), or defined in a way the gateway cannot expand."""

    def __init__(self, message: str, code: str = "not-supported"):
        super().__init__(message)
        self.code = code


def _named(message: str, reference: str) -> str:
    return message % {"reference": reference}


@dataclass
class Codes:
    pairs: set[tuple[str, str]] = field(default_factory=set)  # (system, code)
    systems: dict[str, set[str]] = field(default_factory=dict)  # every code of these systems but the ones named

    def update(self, other: Codes) -> None:
        """Make this the union of both."""
        self.pairs |= other.pairs
        for system, excluded in other.systems.items():
            self.systems[system] = self.systems[system] & excluded if system in self.systems else set(excluded)

    def exclude(self, system: str, code: str) -> None:
        self.pairs.discard((system, code))
        if system in self.systems:
            self.systems[system].add(code)


def stored_canonical(resource_type: str, reference: str) -> dict | None:
    """The stored ``resource_type`` named by its canonical URL (``url``, optionally ``|version``; the latest
    updated when several match) or as ``<type>/<id>``; None when none is stored."""
    if reference.startswith(f"{resource_type}/"):
        sql = "SELECT content FROM fhir_gateway_resource WHERE resource_type = %s AND fhir_id = %s AND NOT deleted"
        args: list = [resource_type, reference.removeprefix(f"{resource_type}/")]
    else:
        url, _bar, version = reference.partition("|")
        sql = (
            "SELECT content FROM fhir_gateway_resource WHERE resource_type = %s AND NOT deleted "
            "AND content->>'url' = %s"
        )
        args = [resource_type, url]
        if version:
            sql += " AND content->>'version' = %s"
            args.append(version)
        sql += " ORDER BY last_updated DESC LIMIT 1"
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        row = cursor.fetchone()
    if row is None:
        return None
    return orjson.loads(row[0]) if isinstance(row[0], str | bytes) else row[0]


def _stored(reference: str) -> dict | None:
    return stored_canonical("ValueSet", reference)


def _contains(items: list, out: Codes) -> None:
    for item in items or []:
        if isinstance(item, dict):
            if item.get("system") and item.get("code") and not item.get("abstract"):
                out.pairs.add((item["system"], item["code"]))
            _contains(item.get("contains"), out)


def codes(reference: str, depth: int = 0) -> Codes:
    """The codes of the value set ``reference`` names; ``ValueSetError`` when it cannot say."""
    value_set = _stored(reference)
    if value_set is None:
        raise ValueSetError(_named(_("no value set %(reference)r is stored"), reference), "not-found")
    out = Codes()
    expansion = value_set.get("expansion")
    if isinstance(expansion, dict) and expansion.get("contains"):
        _contains(expansion["contains"], out)
        return out
    compose = value_set.get("compose")
    if not isinstance(compose, dict):
        raise ValueSetError(_named(_("value set %(reference)r has neither an expansion nor a compose"), reference))
    for include in compose.get("include") or []:
        if include.get("filter"):
            message = _("value set %(reference)r is defined by filters, which need a terminology service")
            raise ValueSetError(_named(message, reference))
        system = include.get("system")
        concepts = include.get("concept") or []
        for concept in concepts:
            if system and concept.get("code"):
                out.pairs.add((system, concept["code"]))
        if system and not concepts:
            out.update(Codes(systems={system: set()}))
        for imported in include.get("valueSet") or []:
            if depth >= MAX_DEPTH:
                raise ValueSetError(_named(_("value set %(reference)r includes value sets too deeply"), reference))
            out.update(codes(imported, depth + 1))
    for exclude in compose.get("exclude") or []:
        system = exclude.get("system")
        if exclude.get("filter") or exclude.get("valueSet") or (system and not exclude.get("concept")):
            raise ValueSetError(_named(_("value set %(reference)r excludes more than listed concepts"), reference))
        for concept in exclude.get("concept") or []:
            if concept.get("code"):
                out.exclude(system, concept["code"])
    return out
