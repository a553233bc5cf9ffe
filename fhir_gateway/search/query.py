"""Run a parsed search against the index: the page of matches, the total, and the cursors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import connection

from fhir_gateway.search import counts, paging
from fhir_gateway.search.criteria import Context, condition, date_group, lookup
from fhir_gateway.search.request import SearchRequest


@dataclass
class Page:
    rows: list[tuple[int, str, str]]  # (resource_id, type, fhir id) in order
    next_cursor: str | None
    previous_cursor: str | None
    total: int | None
    contents: dict[int, object] = field(default_factory=dict)  # resource_id -> stored JSON (text)


def where(ctx: Context, request: SearchRequest, alias: str = "s") -> tuple[str, list]:
    """The WHERE clause of ``request``'s criteria; records the recognized ones in ``request.used``."""
    sqls, args = ["TRUE"], []
    if request.resource_type:
        sqls.append(f"{alias}.rtype = %s")
        args.append(request.resource_type)
        scope_sql, scope_args = ctx.scope.sql(alias, request.resource_type)
    elif request.types:
        sqls.append(f"{alias}.rtype = ANY(%s)")
        args.append(request.types)
        scope_sql, scope_args = ctx.scope.sql(alias, None)
    else:
        scope_sql, scope_args = ctx.scope.sql(alias, None)
    if scope_sql:
        sqls.append(scope_sql.removeprefix(" AND "))
        args += scope_args
    dates: dict[str, list[str]] = {}
    for name, value in request.criteria:
        if ":" not in name and "." not in name and not name.startswith("_"):
            param = lookup(request.resource_type, name)
            if param is not None and param.type == "date":
                dates.setdefault(name, []).append(value)
    for name, raws in dates.items():
        built = date_group(ctx, request.resource_type, name, raws, alias)
        if built is not None:
            request.filtered = True
            sqls.append(built[0])
            args += built[1]
            request.used += [(name, raw) for raw in raws if (name, raw) not in request.used]
    for name, value in request.criteria:
        if name in dates:
            continue
        built = condition(ctx, request.resource_type, name, value, alias)
        if built is None:
            continue
        request.filtered = True
        sqls.append(built[0])
        args += built[1]
        if (name, value) not in request.used:
            request.used.append((name, value))
    return " AND ".join(sqls), args


def match_ids(ctx: Context, request: SearchRequest) -> list[int]:
    sql, args = where(ctx, request)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT s.resource_id FROM fhir_search_res s WHERE {sql} ORDER BY s.resource_id", args)
        return [row[0] for row in cursor.fetchall()]


def bounded_match(ctx: Context, request: SearchRequest, limit: int) -> tuple[str, list]:
    """A statement of up to ``limit`` matching ids (the lowest), for ``matches_each``."""
    sql, args = where(ctx, request)
    return f"SELECT s.resource_id FROM fhir_search_res s WHERE {sql} ORDER BY s.resource_id LIMIT {int(limit)}", args


def matches_each(statements: list[tuple[str, list]]) -> list[list[int]]:
    """The ids each of ``statements`` (from ``bounded_match``) finds, all in one round trip (``UNION ALL``)."""
    found: list[list[int]] = [[] for _ in statements]
    if not statements:
        return found
    sql = " UNION ALL ".join(f"(SELECT {index}, m.* FROM ({text}) m)" for index, (text, _args) in enumerate(statements))
    with connection.cursor() as cursor:
        cursor.execute(sql, [arg for _text, args in statements for arg in args])
        for index, resource_id in cursor.fetchall():
            found[index].append(resource_id)
    return found


def count(ctx: Context, request: SearchRequest, sql: str, args: list) -> int:
    """The number of matches: estimated by the planner for ``_total=estimate``; exact otherwise, from the
    per-type counts when no criterion narrows the search (``counts``), else by counting the index rows."""
    estimate = request.total == "estimate"
    if not estimate and not request.filtered:
        types = [request.resource_type] if request.resource_type else request.types
        owners = _count_owners(ctx, types)
        if owners is not False:
            return counts.total(types, owners)
    with connection.cursor() as cursor:
        if estimate:
            cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM fhir_search_res s WHERE {sql}", args)
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            return int(plan[0]["Plan"]["Plan Rows"])
        cursor.execute(f"SELECT count(*) FROM fhir_search_res s WHERE {sql}", args)
        return cursor.fetchone()[0]


def _count_owners(ctx: Context, types: list[str] | None):
    """The owners whose per-type counts sum to the visible records of ``types`` (None: any owner), or False
    when the actor's visibility is not a filter by owner alone (the rows are then counted)."""
    if types is None:
        return ctx.scope.owners(None) if ctx.scope.countable(None) else False
    answers = {ctx.scope.owners(t) for t in types if ctx.scope.countable(t)}
    if len(answers) != 1 or not all(ctx.scope.countable(t) for t in types):
        return False
    return answers.pop()


def run(ctx: Context, request: SearchRequest) -> Page:
    total = None
    # Without ``_total`` a total is given only when it costs nothing (the whole result is on the page).
    wants_total = request.total in ("accurate", "estimate")
    if request.summary == "count" or request.count == 0:
        sql, args = where(ctx, request)
        return Page([], None, None, count(ctx, request, sql, args))
    keys = paging.sort_keys(request.resource_type, request.sort, ctx.strict)
    selected = ", ".join(f"{key.expression} AS k{index}" for index, key in enumerate(keys))
    key_args = [arg for key in keys for arg in key.args]
    outer, outer_args, backwards = "TRUE", [], False
    if request.cursor:
        values, backwards = paging.decode_cursor(request.cursor, keys)
        outer, outer_args = paging.beyond(keys, values, backwards)
        if len(keys) == 1:  # ordered by primary key alone: the index lookups can start at the page
            ctx.id_bound = ("s", "<" if backwards else ">", values[0])
    criteria = where(ctx, request)
    sql, args = criteria
    if ctx.id_bound is not None:
        sql, args = sql + f" AND s.resource_id {ctx.id_bound[1]} %s", [*args, ctx.id_bound[2]]
    # One round trip: the page of keys, then (materialized, so the plan of the page stays its own) the
    # content of those rows from the resource table.
    primary_key = f"k{len(keys) - 1}"  # the resource's primary key always ends the ordering
    order = paging.order_by(keys, backwards)
    query = (
        f"WITH q AS MATERIALIZED (SELECT q.* FROM (SELECT s.rtype AS rtype, s.fhir_id AS fhir_id, {selected} "
        f"FROM fhir_search_res s WHERE {sql}) q WHERE {outer} ORDER BY {order} LIMIT %s) "
        f"SELECT q.*, r.content FROM q LEFT JOIN fhir_gateway_resource r ON r.id = q.{primary_key} AND NOT r.deleted "
        f"ORDER BY {order}"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*key_args, *args, *outer_args, request.count + 1])
        every = cursor.fetchall()
    contents = {row[-2]: row[-1] for row in every if row[-1] is not None}
    fetched = [row[:-1] for row in every]
    more = len(fetched) > request.count
    fetched = fetched[: request.count]
    if backwards:
        fetched.reverse()
    rows = [(row[-1], row[0], row[1]) for row in fetched]
    first, last = (list(fetched[0][2:]), list(fetched[-1][2:])) if fetched else (None, None)
    if backwards:
        next_cursor = paging.encode_cursor(last, False) if last else None
        previous_cursor = paging.encode_cursor(first, True) if more else None
    else:
        next_cursor = paging.encode_cursor(last, False) if more else None
        previous_cursor = paging.encode_cursor(first, True) if request.cursor and first else None
    if not more and not request.cursor and request.total != "none":
        total = len(rows)
    elif wants_total:
        if ctx.id_bound is not None:  # the total counts every match, not those beyond the page
            ctx.id_bound = None
            criteria = where(ctx, request)
        total = count(ctx, request, *criteria)
    return Page(rows, next_cursor, previous_cursor, total, contents)
