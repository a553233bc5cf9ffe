"""Search parameters to SQL: each ``name=value`` becomes one condition on a ``fhir_search_res`` row.

A condition is an ``EXISTS`` over the parameter type's index table, correlated by ``resource_id``;
commas OR values (http://hl7.org/fhir/R4/search.html#combining), repeated parameters AND them.
Chains join through the reference table to the target rows (``subject:Patient.name=...``, any
depth) and ``_has`` joins the other way (http://hl7.org/fhir/R4/search.html#chaining).
"""

from __future__ import annotations

import math
import re

from django.utils.translation import gettext as _

from fhir_gateway.errors import FhirError
from fhir_gateway.search import valuesets
from fhir_gateway.search.definitions import SearchParam, common_params, defined_types, params_for
from fhir_gateway.search.scope import Scope
from fhir_gateway.search.values import KINDS, composite, content, date, number, reference, token

_COMMA = re.compile(r"(?<!\\),")
_TYPE_NAME = re.compile(r"^[A-Z][A-Za-z]+$")


class Context:
    """What building one search's SQL needs: base URL, access scope, strictness, unique aliases."""

    def __init__(self, *, base_url: str = "", scope: Scope | None = None, strict: bool = False):
        self.base_url = base_url.rstrip("/")
        self.scope = scope or Scope(None)
        self.strict = strict
        self._counter = 0
        # ``(alias, ">" or "<", resource_id)``: the keyset bound of a page ordered by primary key alone.
        # Each index lookup correlated with that alias repeats it, so that its scan starts at the page
        # instead of at the first row (the lookups of chained or ``_has`` targets are not bounded).
        self.id_bound: tuple[str, str, int] | None = None

    def bound(self, i: str, alias: str) -> tuple[str, list]:
        """SQL (`` AND i.resource_id > %s``) and args repeating the page bound on index alias ``i``."""
        if self.id_bound is None or self.id_bound[0] != alias:
            return "", []
        return f" AND {i}.resource_id {self.id_bound[1]} %s", [self.id_bound[2]]

    def alias(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"


def bad(name: str, message: str, code: str = "invalid") -> FhirError:
    diagnostics = _("Search parameter %(name)s: %(problem)s") % {"name": name, "problem": message}
    return FhirError(400, diagnostics, code=code, expression=[name])


def split_values(raw: str) -> list[str]:
    return [value.replace("\\,", ",") for value in _COMMA.split(raw) if value != ""]


def lookup(resource_type: str | None, code: str) -> SearchParam | None:
    return (params_for(resource_type) if resource_type else common_params()).get(code)


def condition(ctx: Context, resource_type: str | None, name: str, raw: str, alias: str) -> tuple[str, list] | None:
    """SQL for ``name=raw`` on ``alias``; ``None`` when the parameter is unknown (and not strict)."""
    values = split_values(raw)
    if not values:
        return None
    if name.startswith("_has:"):
        return _has(ctx, resource_type, name, raw, alias)
    head, _dot, chain = name.partition(".")
    code, _colon, modifier = head.partition(":")
    if code == "_id":
        if modifier or chain:
            raise bad(name, _("no modifier or chain on _id"), "not-supported")
        return f"{alias}.fhir_id = ANY(%s)", [values]
    if code == "_list":
        if modifier or chain:
            raise bad(name, _("no modifier or chain on _list"), "not-supported")
        return _list(ctx, alias, values)
    if code == "_lastUpdated":
        if modifier or chain:
            raise bad(name, _("no modifier or chain on _lastUpdated"), "not-supported")
        column = f"{alias}.last_updated"
        return _any(name, values, lambda value: date.condition(value, "", lambda _: column))
    param = lookup(resource_type, code)
    if param is None:
        if ctx.strict:
            raise bad(
                name, _("unknown for %(type)s") % {"type": resource_type or _("system-level search")}, "not-supported"
            )
        return None
    if chain:
        if param.type != "reference":
            raise bad(
                name, _("%(code)s is a %(kind)s parameter, it cannot be chained") % {"code": code, "kind": param.type}
            )
        return _chain(ctx, param, name, modifier, chain, raw, alias)
    if modifier == "missing":
        if values not in (["true"], ["false"]):
            raise bad(name, _(":missing takes true or false"))
        table = content.TABLE if code in content.PARAMS else KINDS[param.type].TABLE
        stored = code + ":lat" if param.type == "special" else code
        exists = f"EXISTS (SELECT 1 FROM {table} m WHERE m.resource_id = {alias}.resource_id AND m.param = %s)"
        return (f"NOT {exists}" if values == ["true"] else exists), [stored]
    return _match(ctx, param, name, modifier, values, alias)


def _list(ctx: Context, alias: str, values: list[str]) -> tuple[str, list]:
    """``_list=[id]``: the resources a List's entries name (http://hl7.org/fhir/R4/search.html#list)."""
    # The List itself must be visible to the actor (its index row carries what visibility needs).
    scope_sql, scope_args = ctx.scope.sql("ls", "List")
    sql = (
        "EXISTS (SELECT 1 FROM fhir_gateway_resource l JOIN fhir_search_res ls ON ls.resource_id = l.id, "
        "jsonb_array_elements(l.content->'entry') e "
        "WHERE l.resource_type = 'List' AND l.fhir_id = ANY(%s) AND NOT l.deleted "
        "AND jsonb_typeof(l.content->'entry') = 'array' "
        f"AND e->'item'->>'reference' = {alias}.rtype || '/' || {alias}.fhir_id{scope_sql})"
    )
    return sql, [values, *scope_args]


def date_group(ctx: Context, resource_type: str | None, name: str, raws: list[str], alias: str):
    """Every ``name=...`` of one date parameter in one EXISTS, so that a range (``ge`` and ``lt``) is
    matched on one date value and the GiST index on the value ranges finds it; ``None`` if unknown."""
    param = lookup(resource_type, name)
    if param is None or param.type != "date":
        return None
    i = ctx.alias("d")
    sqls, args, low, high, bounded = [], [], None, None, True
    for raw in raws:
        values = split_values(raw)
        if not values:
            continue
        ors, more = _any(name, values, lambda value: date.condition(value, "", lambda column: f"{i}.{column}"))
        sqls.append(ors)
        args += more
        windows = [date.window(value) for value in values]
        if any(window is None for window in windows):
            bounded = False
            continue
        lows, highs = [w[0] for w in windows], [w[1] for w in windows]
        one_low = None if None in lows else min(lows)
        one_high = None if None in highs else max(highs)
        low = one_low if low is None else (max(low, one_low) if one_low else low)
        high = one_high if high is None else (min(high, one_high) if one_high else high)
    if not sqls:
        return None
    window_sql, type_sql = "", ""
    if resource_type:
        type_sql = f" AND {i}.rtype = %s"
    if bounded and low and high and low >= high:
        window_sql, bounded = " AND FALSE", False  # ``ge2025&lt2020``: no date is in both
    if bounded and (low or high):
        window_sql = f" AND tstzrange({i}.lo, {i}.hi, '[)') && tstzrange(%s, %s, '[)')"
    bound_sql, bound_args = ctx.bound(i, alias)
    sql = (
        f"EXISTS (SELECT 1 FROM {date.TABLE} {i} WHERE {i}.resource_id = {alias}.resource_id AND {i}.param = %s"
        f"{bound_sql}{type_sql}{window_sql} AND {' AND '.join(sqls)})"
    )
    window_args = [low, high] if bounded and window_sql else []
    return sql, [name, *bound_args, *([resource_type] if type_sql else []), *window_args, *args]


def _any(name: str, values: list[str], build) -> tuple[str, list]:
    sqls, args = [], []
    for value in values:
        try:
            sql, more = build(value)
        except (ValueError, ArithmeticError) as exc:  # OverflowError: a date beyond year 9999
            raise bad(name, _("invalid value %(value)r (%(problem)s)") % {"value": value, "problem": exc}) from None
        sqls.append(sql)
        args += more
    return "(" + " OR ".join(sqls) + ")", args


def _exists(table: str, alias: str, ctx: Context, param_code: str, name: str, values: list[str], build):
    i = ctx.alias("i")
    ors, args = _any(name, values, lambda value: build(value, lambda column: f"{i}.{column}"))
    bound_sql, bound_args = ctx.bound(i, alias)
    sql = (
        f"EXISTS (SELECT 1 FROM {table} {i} WHERE {i}.resource_id = {alias}.resource_id AND {i}.param = %s"
        f"{bound_sql} AND {ors})"
    )
    return sql, [param_code, *bound_args, *args]


def _match(ctx: Context, param: SearchParam, name: str, modifier: str, values: list[str], alias: str):
    kind = param.type
    if kind == "special":
        return _near(ctx, param, name, values, alias)
    if param.code in content.PARAMS:
        if modifier not in content.MODIFIERS:
            raise bad(name, _("unknown modifier :%(modifier)s") % {"modifier": modifier}, "not-supported")
        return _exists(content.TABLE, alias, ctx, param.code, name, values, content.condition_for)
    module = KINDS[kind]
    if kind == "reference" and modifier not in ("", "identifier"):
        if not _TYPE_NAME.match(modifier) or (param.targets and modifier not in param.targets):
            raise bad(name, _("unknown modifier :%(modifier)s") % {"modifier": modifier}, "not-supported")
    elif kind == "token" and modifier in ("in", "not-in"):
        return _in_value_set(ctx, param, name, modifier, values, alias)
    elif kind == "token" and modifier in ("above", "below"):
        raise bad(
            name,
            _("the :%(modifier)s modifier needs terminology services, not supported") % {"modifier": modifier},
            "not-supported",
        )
    elif kind != "reference" and modifier not in module.MODIFIERS:
        raise bad(name, _("unknown modifier :%(modifier)s") % {"modifier": modifier}, "not-supported")
    if kind == "composite":
        return _exists(
            module.TABLE,
            alias,
            ctx,
            param.code,
            name,
            values,
            lambda value, col: composite.condition_for(param, value, col, ctx.base_url),
        )
    if kind == "reference" and modifier == "identifier":
        return _exists(
            token.TABLE,
            alias,
            ctx,
            f"{param.code}:identifier",
            name,
            values,
            lambda value, col: token.condition(value, "", col),
        )
    if kind == "reference":
        return _exists(
            module.TABLE,
            alias,
            ctx,
            param.code,
            name,
            values,
            lambda value, col: reference.condition(value, modifier, col, ctx.base_url),
        )
    if kind == "token" and modifier == "of-type":
        return _exists(
            token.TABLE,
            alias,
            ctx,
            f"{param.code}:of-type",
            name,
            values,
            lambda value, col: token.condition(value, "of-type", col),
        )
    sql, args = _exists(
        module.TABLE,
        alias,
        ctx,
        param.code,
        name,
        values,
        lambda value, col: module.condition(value, "" if modifier == "not" else modifier, col),
    )
    return (f"NOT {sql}" if modifier == "not" else sql), args


def _in_value_set(ctx: Context, param: SearchParam, name: str, modifier: str, values: list[str], alias: str):
    """``code:in=<value set>`` (any of the value sets, for several values) and ``code:not-in``."""
    found = valuesets.Codes()
    for value in values:
        try:
            found.update(valuesets.codes(value))
        except valuesets.ValueSetError as error:
            raise bad(name, str(error), error.code) from None
    pairs = sorted(found.pairs)
    # Codes left out of a whole system, as (system, code) pairs: each names its own system.
    excluded = sorted((system, code) for system, codes in found.systems.items() for code in codes)
    i = ctx.alias("i")
    bound_sql, bound_args = ctx.bound(i, alias)
    sql = (
        f"EXISTS (SELECT 1 FROM {token.TABLE} {i} WHERE {i}.resource_id = {alias}.resource_id AND {i}.param = %s"
        f"{bound_sql} AND (({i}.system, {i}.code) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
        f"OR ({i}.system = ANY(%s::text[]) AND ({i}.system, coalesce({i}.code, '')) NOT IN "
        f"(SELECT * FROM unnest(%s::text[], %s::text[])))))"
    )
    args = [param.code, *bound_args, [p[0] for p in pairs], [p[1] for p in pairs], sorted(found.systems)]
    args += [[p[0] for p in excluded], [p[1] for p in excluded]]
    return (f"NOT {sql}" if modifier == "not-in" else sql), args


def _near(ctx: Context, param: SearchParam, name: str, values: list[str], alias: str):
    """``near=lat|lon|distance|unit``: a bounding box around the point (distance in km by default)."""
    sqls, args = [], []
    for value in values:
        parts = value.split("|")
        try:
            lat, lon = float(parts[0]), float(parts[1])
            distance = float(parts[2]) if len(parts) > 2 and parts[2] else 10.0
            if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 <= distance < 1e6):
                raise ValueError
        except (ValueError, IndexError):
            raise bad(name, _("expected latitude|longitude|distance|unit")) from None
        unit = parts[3] if len(parts) > 3 else "km"
        km = {"km": 1.0, "m": 0.001, "[mi_i]": 1.609344, "mi": 1.609344}.get(unit)
        if km is None:
            raise bad(name, _("unknown distance unit %(unit)r") % {"unit": unit})
        dlat = distance * km / 111.32
        dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
        box = []
        for suffix, center, delta in ((":lat", lat, dlat), (":lon", lon, dlon)):
            i = ctx.alias("n")
            box.append(
                f"EXISTS (SELECT 1 FROM {number.TABLE} {i} WHERE {i}.resource_id = {alias}.resource_id "
                f"AND {i}.param = %s AND {i}.value BETWEEN %s AND %s)"
            )
            args += [param.code + suffix, center - delta, center + delta]
        sqls.append("(" + " AND ".join(box) + ")")
    return "(" + " OR ".join(sqls) + ")", args


def _chain(ctx: Context, param: SearchParam, name: str, modifier: str, chain: str, raw: str, alias: str):
    if modifier and (not _TYPE_NAME.match(modifier) or (param.targets and modifier not in param.targets)):
        raise bad(name, _("%(type)s is not a target of %(code)s") % {"type": modifier, "code": param.code})
    targets = [modifier] if modifier else list(param.targets)
    next_code = chain.partition(".")[0].partition(":")[0]
    candidates = [
        target
        for target in targets
        if next_code in ("_id", "_lastUpdated") or next_code == "_has" or next_code in params_for(target)
    ]
    if not candidates:
        raise bad(
            name,
            _("%(code)s is not a search parameter of %(types)s")
            % {"code": next_code, "types": ", ".join(targets) or "?"},
        )
    r, t = ctx.alias("r"), ctx.alias("t")
    parts, args = [], []
    for target in candidates:
        sub = condition(ctx, target, chain, raw, t)
        if sub is None:
            raise bad(name, _("%(code)s is not a search parameter of %(types)s") % {"code": chain, "types": target})
        scope_sql, scope_args = ctx.scope.sql(t, target)
        parts.append(f"({t}.rtype = %s{scope_sql} AND {sub[0]})")
        args += [target, *scope_args, *sub[1]]
    sql = (
        f"EXISTS (SELECT 1 FROM fhir_search_reference {r} JOIN fhir_search_res {t} "
        f"ON {t}.rtype = {r}.target_type AND {t}.fhir_id = {r}.target_id "
        f"WHERE {r}.resource_id = {alias}.resource_id AND {r}.param = %s AND ({' OR '.join(parts)}))"
    )
    return sql, [param.code, *args]


def _has(ctx: Context, resource_type: str | None, name: str, raw: str, alias: str):
    parts = name.split(":", 3)
    if len(parts) != 4 or not all(parts):
        raise bad(name, _("expected _has:Type:reference-parameter:parameter"))
    _has, source, ref_code, rest = parts
    if source not in defined_types():
        raise bad(name, _("unknown resource type %(type)s") % {"type": source})
    ref = params_for(source).get(ref_code)
    if ref is None or ref.type != "reference":
        raise bad(name, _("%(code)s is not a reference parameter of %(type)s") % {"code": ref_code, "type": source})
    h, hs = ctx.alias("h"), ctx.alias("hs")
    sub = condition(ctx, source, rest, raw, hs)
    if sub is None:
        raise bad(name, _("%(code)s is not a search parameter of %(types)s") % {"code": rest, "types": source})
    scope_sql, scope_args = ctx.scope.sql(hs, source)
    # Uncorrelated, so the planner can find the referring resources first and hash their targets.
    target_sql, target_args = (
        (f"{h}.target_type = %s", [resource_type]) if resource_type else (f"{h}.target_type = {alias}.rtype", [])
    )
    if not scope_sql and not re.search(rf"\b{hs}\.(?!resource_id\b)", sub[0]):
        # Nothing to check on the referring resource's own row (no access scope, the criterion reads only
        # its index rows): the reference row names it, and the index rows only exist while it does.
        criterion = re.sub(rf"\b{hs}\.resource_id\b", f"{h}.resource_id", sub[0])
        sql = (
            f"{alias}.fhir_id IN (SELECT {h}.target_id FROM fhir_search_reference {h} "
            f"WHERE {h}.param = %s AND {h}.rtype = %s AND {target_sql} AND {criterion})"
        )
        return sql, [ref_code, source, *target_args, *sub[1]]
    sql = (
        f"{alias}.fhir_id IN (SELECT {h}.target_id FROM fhir_search_reference {h} "
        f"JOIN fhir_search_res {hs} ON {hs}.resource_id = {h}.resource_id "
        f"WHERE {h}.param = %s AND {h}.rtype = %s AND {target_sql} AND {hs}.rtype = %s{scope_sql} AND {sub[0]})"
    )
    return sql, [ref_code, source, *target_args, source, *scope_args, *sub[1]]
