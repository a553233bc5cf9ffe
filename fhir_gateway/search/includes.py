"""``_include`` and ``_revinclude``, with ``:iterate`` and ``*`` (http://hl7.org/fhir/R4/search.html#include)."""

from __future__ import annotations

from django.db import connection

from fhir_gateway.search.request import Include
from fhir_gateway.search.scope import Scope

MAX_ROUNDS = 4
MAX_INCLUDED = 1000


def _forward(include: Include, frontier: list[tuple[int, str, str]], scope: Scope) -> tuple[str, list]:
    pks = [pk for pk, rtype, _ in frontier if include.source in ("*", rtype)]
    sql = (
        "SELECT t.resource_id, t.rtype, t.fhir_id, t.owner, NULL::text AS target_type, NULL::text AS target_id "
        "FROM fhir_search_reference i "
        "JOIN fhir_search_res t ON t.rtype = i.target_type AND t.fhir_id = i.target_id "
        "WHERE i.resource_id = ANY(%s)"
    )
    args: list = [pks]
    scope_sql, scope_args = scope.sql("t", include.target)
    sql += scope_sql
    args += scope_args
    if include.param:
        sql += " AND i.param = %s"
        args.append(include.param)
    if include.target:
        sql += " AND i.target_type = %s"
        args.append(include.target)
    return sql, args


def _reverse(include: Include, frontier: list[tuple[int, str, str]], scope: Scope) -> tuple[str, list]:
    sql = (
        "SELECT s.resource_id, s.rtype, s.fhir_id, s.owner, i.target_type, i.target_id FROM fhir_search_reference i "
        "JOIN fhir_search_res s ON s.resource_id = i.resource_id WHERE i.target_id = ANY(%s)"
    )
    args: list = [sorted({fhir_id for _, _, fhir_id in frontier})]
    if include.source != "*":
        sql += " AND i.rtype = %s"
        args.append(include.source)
    scope_sql, scope_args = scope.sql("s", None if include.source == "*" else include.source)
    sql += scope_sql
    args += scope_args
    if include.param:
        sql += " AND i.param = %s"
        args.append(include.param)
    return sql + f" LIMIT {MAX_INCLUDED + 1}", args


def _round(active: list[Include], frontier: list[tuple[int, str, str]], scope: Scope) -> tuple[str, list]:
    """One statement for every include of a round, each found row with its content (one round trip)."""
    parts, args = [], []
    for number, include in enumerate(active):
        sql, more = (_reverse if include.reverse else _forward)(include, frontier, scope)
        parts.append(f"SELECT {number} AS n, x.* FROM ({sql}) x")
        args += more
    sql = (
        f"WITH found AS MATERIALIZED ({' UNION ALL '.join(parts)}) "
        "SELECT found.*, r.content FROM found LEFT JOIN fhir_gateway_resource r "
        "ON r.id = found.resource_id AND NOT r.deleted ORDER BY found.n, found.resource_id"
    )
    return sql, args


def included(
    matches: list[tuple[int, str, str]], includes: list[Include], scope: Scope
) -> tuple[list[tuple[int, str, str]], dict[int, object]]:
    """The resources ``includes`` add to ``matches`` (in order found, each once, never a match) and their
    stored contents (deleted ones left out)."""
    seen = {pk for pk, _, _ in matches}
    out: list[tuple[int, str, str]] = []
    contents: dict[int, object] = {}
    frontier = matches
    for round_number in range(MAX_ROUNDS):
        active = [item for item in includes if round_number == 0 or item.iterate]
        if not active or not frontier:
            break
        found: list[tuple[int, str, str]] = []
        wanted = {(rtype, fhir_id) for _, rtype, fhir_id in frontier}
        with connection.cursor() as cursor:
            cursor.execute(*_round(active, frontier, scope))
            rows = cursor.fetchall()
        for number, pk, rtype, fhir_id, _owner, target_type, target_id, content in rows:
            if active[number].reverse and (target_type, target_id) not in wanted:
                continue
            # Only what the actor may see was selected (the scope's condition is in the statement).
            if pk not in seen and len(out) + len(found) < MAX_INCLUDED:
                seen.add(pk)
                found.append((pk, rtype, fhir_id))
                if content is not None:
                    contents[pk] = content
        out += found
        frontier = found
    return out, contents
