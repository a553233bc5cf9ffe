"""Parsing a search request: criteria apart from the result parameters (``_count``, ``_sort``...)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from fhir_gateway.errors import FhirError
from fhir_gateway.search.definitions import defined_types, params_for

DEFAULT_COUNT = 20
MAX_COUNT = 1000  # a larger _count is refused (400), not silently cut: the client learns the limit
MAX_CHAIN_DEPTH = 3  # links of a chain (a.b.c) and nested _has, each a join per link
MAX_PARAMETERS = 100  # parameters of one search
# Handled by the REST layer (format negotiation); never an unknown parameter, never in links.
TRANSPORT = {"_format", "_pretty"}
SUMMARIES = {"true", "false", "text", "data", "count"}
TOTALS = {"none", "estimate", "accurate"}


@dataclass(frozen=True)
class Include:
    source: str  # a resource type or "*"
    param: str | None  # None: every reference parameter ("*")
    target: str | None
    iterate: bool
    reverse: bool


@dataclass
class SearchRequest:
    resource_type: str | None
    criteria: list[tuple[str, str]] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    sort: str | None = None
    total: str | None = None
    summary: str | None = None
    elements: list[str] | None = None
    includes: list[Include] = field(default_factory=list)
    cursor: str | None = None
    types: list[str] | None = None  # _type at system level
    # The parameters the search used, in order, for the ``self`` link (ignored ones left out).
    used: list[tuple[str, str]] = field(default_factory=list)
    filtered: bool = False  # whether a criterion narrows the search beyond type and access scope


def _bad(name: str, message: str, code: str = "invalid") -> FhirError:
    diagnostics = _("Search parameter %(name)s: %(problem)s") % {"name": name, "problem": message}
    return FhirError(400, diagnostics, code=code, expression=[name])


def _include(name: str, value: str, resource_type: str | None) -> Include:
    reverse = name.startswith("_revinclude")
    iterate = name.endswith(":iterate") or name.endswith(":recurse")
    if name.partition(":")[2] not in ("", "iterate", "recurse"):
        raise _bad(name, _("the only modifier is :iterate"), "not-supported")
    if value == "*":
        return Include("*", None, None, iterate, reverse)
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise _bad(name, _("expected Type:parameter[:targetType], got %(value)r") % {"value": value})
    source, code = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    if source not in defined_types():
        raise _bad(name, _("unknown resource type %(type)s") % {"type": source})
    if code != "*":
        param = params_for(source).get(code)
        if param is None or param.type != "reference":
            raise _bad(name, _("%(code)s is not a reference parameter of %(type)s") % {"code": code, "type": source})
        if target and param.targets and target not in param.targets:
            raise _bad(name, _("%(type)s is not a target of %(code)s") % {"type": target, "code": f"{source}:{code}"})
    if not iterate and not reverse and resource_type and source != resource_type:
        raise _bad(
            name,
            _("%(type)s is not the type searched (%(searched)s); use :iterate")
            % {"type": source, "searched": resource_type},
        )
    return Include(source, None if code == "*" else code, target, iterate, reverse)


def _chain_depth(name: str) -> int:
    """Links a criterion follows: each ``.`` of a chain and each ``_has:`` (``a.b.c`` and ``_has:..:_has:..`` nest)."""
    return name.count(".") + name.count("_has:")


def parse(resource_type: str | None, params: list[tuple[str, str]]) -> SearchRequest:
    request = SearchRequest(resource_type)
    if len(params) > MAX_PARAMETERS:
        raise FhirError(
            400,
            _("A search takes at most %(limit)s parameters") % {"limit": MAX_PARAMETERS},
            code="too-costly",
        )
    for name, value in params:
        if "\x00" in name or "\x00" in value:
            raise _bad(name.replace("\x00", ""), _("contains a NUL character"))
        if name in TRANSPORT:
            continue
        if name == "_count":
            if not value.isdigit():
                raise _bad(name, _("must be a whole number, 0 or more"))
            if int(value) > MAX_COUNT:
                raise _bad(name, _("must be at most %(limit)s") % {"limit": MAX_COUNT}, "too-costly")
            request.count = int(value)
        elif name == "_sort":
            request.sort = ",".join(filter(None, [request.sort, value]))
        elif name == "_total":
            if value not in TOTALS:
                raise _bad(name, _("must be none, estimate or accurate"))
            request.total = value
        elif name == "_summary":
            if value not in SUMMARIES:
                raise _bad(name, _("must be true, false, text, data or count"))
            request.summary = value
        elif name == "_elements":
            request.elements = [item.strip() for item in value.split(",") if item.strip()]
        elif name.startswith(("_include", "_revinclude")):
            request.includes.append(_include(name, value, resource_type))
        elif name == "_cursor":
            request.cursor = value
            continue  # links add their own
        elif name == "_type" and resource_type is None:
            request.types = [item for item in value.split(",") if item]
            unknown = [item for item in request.types if item not in defined_types()]
            if unknown:
                raise _bad(name, _("unknown resource type %(type)s") % {"type": unknown[0]})
        elif name in ("_contained", "_containedType"):
            raise _bad(name, _("contained resources are not searched"), "not-supported")
        else:
            if _chain_depth(name) > MAX_CHAIN_DEPTH:
                raise _bad(name, _("chains at most %(limit)s links deep") % {"limit": MAX_CHAIN_DEPTH}, "too-costly")
            request.criteria.append((name, value))
            continue  # added to ``used`` once recognized
        request.used.append((name, value))
    return request
