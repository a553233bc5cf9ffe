"""FHIRPath for invariants, compiled once into Python closures over the resource's JSON (http://hl7.org/fhirpath/N1/).

The R4 constraints are parsed when the tables are generated (with ``fhirpathpy``'s parser) into a small
list-based syntax tree stored in the tables; ``compile_ast`` turns a tree into a closure once, at start-up.
Evaluating a closure walks the JSON directly (dicts, lists, str/bool/int/float), a few microseconds per
invariant where ``fhirpathpy``'s evaluator takes about a hundred.

The subset is what the R4 invariants use: navigation (choice elements ``value`` reach ``valueQuantity``),
indexers, the boolean, equality, comparison, membership, arithmetic, string and union operators,
``is``/``as``/``ofType`` (resource types, and the type of a choice element), and the functions listed in
``FUNCTIONS``. A tree using anything else (``resolve()``, ``memberOf()``, ``htmlChecks()``...) raises
``Unsupported`` when compiled: the invariant is then reported as not checked, never guessed.

Results follow FHIRPath's three-valued logic; ``holds`` counts an empty result as satisfied (only a
definite ``false`` breaks an invariant: empty comes from comparisons FHIRPath cannot decide, such as two
dates of different precision).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache

import orjson

Fn = Callable[[list, dict], list]
UCUM = "http://unitsofmeasure.org"


class Unsupported(Exception):
    """The expression uses something this compiler does not evaluate."""


class EvaluationError(Exception):
    """The expression cannot be evaluated on this data (e.g. a singleton expected, a collection found)."""


class NoValue:
    """A primitive element with extensions but no value (``"_birthDate": {...}`` alone)."""

    __slots__ = ("element",)

    def __init__(self, element):
        self.element = element


# ----------------------------------------------------------------------------------------------------------
# Parsing (fhirpathpy's ANTLR parser) into the compact tree: only when generating tables or for a profile.


def to_ast(expression: str) -> list:
    """The compact syntax tree of ``expression`` (raises ``Unsupported`` for syntax this module lacks)."""
    from fhirpathpy.parser import parse

    tree = parse(expression)
    children = tree.get("children") or []
    if len(children) != 1:
        raise Unsupported(f"cannot parse {expression!r}")
    return _convert(children[0])


_BINARY = {
    "ImpliesExpression",
    "OrExpression",
    "AndExpression",
    "MembershipExpression",
    "EqualityExpression",
    "InequalityExpression",
    "UnionExpression",
    "AdditiveExpression",
    "MultiplicativeExpression",
}


def _identifier(node: dict) -> str:
    text = node["terminalNodeText"][0] if node.get("terminalNodeText") else node.get("text", "")
    return text[1:-1] if text.startswith("`") else text


def _unquote(text: str) -> str:
    body = text[1:-1]
    escapes = {"\\'": "'", '\\"': '"', "\\\\": "\\", "\\n": "\n", "\\t": "\t", "\\r": "\r", "\\/": "/", "\\`": "`"}
    return re.sub(r"\\.", lambda m: escapes.get(m.group(0), m.group(0)[1]), body)


def _convert(node: dict) -> list:  # noqa: C901 - one branch per grammar rule
    kind = node["type"]
    children = node.get("children") or []
    if kind in ("TermExpression", "ParenthesizedTerm", "LiteralTerm", "InvocationTerm", "ExternalConstantTerm"):
        return _convert(children[0])
    if kind == "InvocationExpression":
        return _invoke(_convert(children[0]), children[1])
    if kind in ("MemberInvocation", "FunctionInvocation", "ThisInvocation", "IndexInvocation", "TotalInvocation"):
        return _invoke(["this"], node)
    if kind == "IndexerExpression":
        return ["index", _convert(children[0]), _convert(children[1])]
    if kind == "PolarityExpression":
        inner = _convert(children[0])
        return ["neg", inner] if node["terminalNodeText"][0] == "-" else inner
    if kind == "TypeExpression":
        return [node["terminalNodeText"][0], _convert(children[0]), _type_name(children[1])]
    if kind in _BINARY:
        return ["op", node["terminalNodeText"][0], _convert(children[0]), _convert(children[1])]
    if kind == "ExternalConstant":
        name = _identifier(children[0]) if children else node["terminalNodeText"][-1]
        return ["var", name.strip("'`")]
    if kind == "StringLiteral":
        return ["lit", _unquote(node["terminalNodeText"][0])]
    if kind == "NumberLiteral":
        text = node["terminalNodeText"][0]
        return ["lit", float(text) if "." in text else int(text)]
    if kind == "BooleanLiteral":
        return ["lit", node["terminalNodeText"][0] == "true"]
    if kind == "NullLiteral":
        return ["empty"]
    if kind in ("DateTimeLiteral", "DateLiteral", "TimeLiteral"):
        return ["lit", node["terminalNodeText"][0].lstrip("@").lstrip("T")]
    raise Unsupported(f"FHIRPath {kind} is not supported")


def _type_name(node: dict) -> str:
    names = []

    def collect(n):
        if n["type"] == "Identifier":
            names.append(_identifier(n))
        for child in n.get("children") or []:
            collect(child)

    collect(node)
    return names[-1]


def _invoke(focus: list, invocation: dict) -> list:
    kind = invocation["type"]
    if kind == "MemberInvocation":
        return ["member", focus, _identifier(invocation["children"][0])]
    if kind == "ThisInvocation":
        return focus if focus == ["this"] else ["this"]
    if kind == "FunctionInvocation":
        function = invocation["children"][0]
        name = _identifier(function["children"][0])
        params = function["children"][1]["children"] if len(function["children"]) > 1 else []
        if name in ("is", "as", "ofType"):
            return [name if name != "ofType" else "as", focus, _type_name(params[0])]
        return ["call", name, focus, [_convert(p) for p in params]]
    raise Unsupported(f"FHIRPath {kind} is not supported")


# ----------------------------------------------------------------------------------------------------------
# Evaluation helpers


_DATE = re.compile(r"(\d{4})(?:-(\d\d)(?:-(\d\d)(?:T(\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?(Z|[+-]\d\d:\d\d)?)?)?)?")
_TIME = re.compile(r"(\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?")


def _date_parts(text: str) -> tuple[list, str | None] | None:
    match = _DATE.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    parts = [int(year)]
    for value in (month, day, hour, minute):
        if value is None:
            return parts, zone
        parts.append(int(value))
    if second is not None:
        parts.append(float(f"{second}.{fraction or 0}"))
    return parts, zone


def _utc(parts: list, zone: str | None) -> list:
    """Shift a date-time's parts (with hours) to UTC, so that two zones compare."""
    if zone in (None, "Z") or len(parts) < 4:
        return parts
    sign = -1 if zone[0] == "+" else 1
    shift = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])) * sign
    moment = datetime(parts[0], parts[1], parts[2], parts[3], parts[4] if len(parts) > 4 else 0, tzinfo=UTC) + shift
    shifted = [moment.year, moment.month, moment.day, moment.hour, moment.minute]
    return shifted[: len(parts)] + parts[5:]


def _compare_dates(left: str, right: str) -> int | None:
    """-1, 0, 1, or None when FHIRPath leaves it undecided (different precision, equal as far as both go)."""
    a, b = _date_parts(left), _date_parts(right)
    if a is None or b is None:
        return None
    (pa, za), (pb, zb) = a, b
    if len(pa) >= 4 and len(pb) >= 4:
        pa, pb = _utc(pa, za), _utc(pb, zb)
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            return -1 if x < y else 1
    return 0 if len(pa) == len(pb) else None


def _looks_like_date(value: str) -> bool:
    return len(value) >= 4 and value[:4].isdigit() and (len(value) == 4 or value[4] == "-")


def _compare(left, right) -> int | None:
    if isinstance(left, bool) or isinstance(right, bool):
        return None
    if isinstance(left, int | float) and isinstance(right, int | float):
        return (left > right) - (left < right)
    if isinstance(left, str) and isinstance(right, str):
        if _looks_like_date(left) and _looks_like_date(right):
            return _compare_dates(left, right)
        if _TIME.fullmatch(left) and _TIME.fullmatch(right):
            return (left > right) - (left < right)
        return (left > right) - (left < right)
    if isinstance(left, dict) and isinstance(right, dict):  # Quantities: only the same unit compares
        lv, rv = left.get("value"), right.get("value")
        if not isinstance(lv, int | float) or not isinstance(rv, int | float):
            return None
        if (left.get("system"), left.get("code")) != (right.get("system"), right.get("code")):
            if left.get("code") or right.get("code") or left.get("unit") != right.get("unit"):
                return None
        return (lv > rv) - (lv < rv)
    return None


def _equal(left, right) -> bool | None:
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if isinstance(left, str) and isinstance(right, str) and _looks_like_date(left) and _looks_like_date(right):
        if _DATE.fullmatch(left) and _DATE.fullmatch(right):
            order = _compare_dates(left, right)
            return None if order is None else order == 0
    if isinstance(left, NoValue) or isinstance(right, NoValue):
        return None
    return left == right


def _key(value) -> object:
    """A hashable stand-in for a value, for distinct/union/intersect."""
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    if isinstance(value, NoValue):
        return id(value)
    return (type(value) is bool, value)


def _distinct(items: list) -> list:
    seen, out = set(), []
    for item in items:
        key = _key(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _boolean(values: list) -> bool | None:
    """A collection as a boolean: empty is None, a singleton Boolean is itself, any other singleton true."""
    if not values:
        return None
    if len(values) > 1:
        raise EvaluationError("a single value was expected, a collection was found")
    value = values[0]
    return value if isinstance(value, bool) else True


def _single(values: list):
    if len(values) > 1:
        raise EvaluationError("a single value was expected, a collection was found")
    return values[0] if values else None


def _string(values: list) -> str | None:
    value = _single(values)
    return value if isinstance(value, str) else None


def _children(item) -> list:
    out: list = []
    if isinstance(item, dict):
        for key, value in item.items():
            if key == "resourceType" or key.startswith("_"):
                continue
            if isinstance(value, list):
                out.extend(v for v in value if v is not None)
            else:
                out.append(value)
    return out


def _descendants(items: list) -> list:
    out: list = []
    stack = list(reversed(items))
    while stack:
        children = _children(stack.pop())
        out.extend(children)
        stack.extend(reversed([c for c in children if isinstance(c, dict)]))
    return out


_TYPES_OF_PYTHON = {
    bool: {"boolean", "Boolean"},
    int: {"integer", "Integer", "unsignedInt", "positiveInt", "decimal", "Decimal"},
    float: {"decimal", "Decimal"},
}


def _is_type(value, name: str) -> bool:
    if isinstance(value, dict):
        return value.get("resourceType") == name or (name in ("Resource", "DomainResource") and "resourceType" in value)
    if isinstance(value, str):
        return name[0].islower() or name == "String"
    return name in _TYPES_OF_PYTHON.get(type(value), ())


# ----------------------------------------------------------------------------------------------------------
# Compilation


def _member(name: str, choice: bool) -> Fn:
    shadow = "_" + name
    size = len(name)

    def member(focus: list, env: dict) -> list:
        out: list = []
        for item in focus:
            if not isinstance(item, dict):
                continue
            value = item.get(name)
            if value is None and choice:
                for key, candidate in item.items():
                    if key.startswith(name) and len(key) > size and key[size].isupper():
                        value = candidate
                        break
            if value is None:
                if shadow in item:
                    element = item[shadow]
                    out.extend(NoValue(e) for e in (element if isinstance(element, list) else [element]) if e)
                continue
            if isinstance(value, list):
                out.extend(v for v in value if v is not None)
            else:
                out.append(value)
        return out

    return member


def _choice_variant(node: list, type_name: str, choice_bases: frozenset[str]) -> list | None:
    """``value is Quantity`` / ``value as Quantity`` on a choice element: the member ``valueQuantity``."""
    if node[0] == "member" and node[2] in choice_bases:
        return ["member", node[1], node[2] + type_name[0].upper() + type_name[1:]]
    return None


def compile_ast(ast: list, choice_bases: frozenset[str] = frozenset()) -> Fn:
    """A closure ``fn(focus: list, env: dict) -> list`` evaluating ``ast``; ``env`` holds the %variables."""
    return _Compiler(choice_bases).compile(ast)


class _Compiler:
    def __init__(self, choice_bases: frozenset[str]):
        self.choice_bases = choice_bases

    def compile(self, node: list) -> Fn:  # noqa: C901 - one branch per node kind
        kind = node[0]
        if kind == "this":
            return lambda focus, env: focus
        if kind == "lit":
            value = [node[1]]
            return lambda focus, env: value
        if kind == "empty":
            return lambda focus, env: []
        if kind == "var":
            name = node[1]
            return lambda focus, env: [env[name]] if env.get(name) is not None else []
        if kind == "member":
            return self._member(node)
        if kind == "index":
            source, index = self.compile(node[1]), self.compile(node[2])

            def indexed(focus, env):
                items, position = source(focus, env), _single(index(focus, env))
                return [items[position]] if isinstance(position, int) and 0 <= position < len(items) else []

            return indexed
        if kind == "neg":
            inner = self.compile(node[1])

            def negated(focus, env):
                value = _single(inner(focus, env))
                return [-value] if isinstance(value, int | float) and not isinstance(value, bool) else []

            return negated
        if kind in ("is", "as"):
            return self._type_test(node)
        if kind == "op":
            return self._operator(node[1], self.compile(node[2]), self.compile(node[3]))
        if kind == "call":
            return self._call(node[1], self.compile(node[2]), node[3])
        raise Unsupported(f"node {kind}")

    def _member(self, node: list) -> Fn:
        name = node[2]
        if node[1] == ["this"] and name[:1].isupper():
            # A leading type name (``Appointment.status`` in Appointment's invariants) keeps a matching focus.
            def typed(focus, env):
                return [i for i in focus if not isinstance(i, dict) or i.get("resourceType", name) == name]

            return typed
        source = self.compile(node[1])
        step = _member(name, name in self.choice_bases)
        if node[1] == ["this"]:
            return step
        return lambda focus, env: step(source(focus, env), env)

    def _type_test(self, node: list) -> Fn:
        kind, operand, type_name = node
        variant = _choice_variant(operand, type_name, self.choice_bases)
        if variant is not None:
            source, whole = self.compile(variant), self.compile(operand)
            if kind == "as":
                return source

            def is_variant(focus, env):
                if not whole(focus, env):
                    return []
                return [bool(source(focus, env))]

            return is_variant
        source = self.compile(operand)
        if kind == "as":
            return lambda focus, env: [v for v in source(focus, env) if _is_type(v, type_name)]

        def is_type(focus, env):
            value = _single(source(focus, env))
            return [] if value is None else [_is_type(value, type_name)]

        return is_type

    def _operator(self, op: str, left: Fn, right: Fn) -> Fn:  # noqa: C901
        if op in ("and", "or", "xor", "implies"):
            return _logic(op, left, right)
        if op in ("=", "!=", "~", "!~"):
            negate = op.startswith("!")
            loose = "~" in op

            def equality(focus, env):
                a, b = left(focus, env), right(focus, env)
                if loose:
                    if not a and not b:
                        return [not negate]
                    if not a or not b:
                        return [negate]
                    a = [x.lower() if isinstance(x, str) else x for x in a]
                    b = [x.lower() if isinstance(x, str) else x for x in b]
                elif not a or not b:
                    return []
                if len(a) != len(b):
                    return [negate]
                result: bool | None = True
                for x, y in zip(a, b, strict=True):
                    same = _equal(x, y)
                    if same is None:
                        result = None
                    elif not same:
                        result = False
                        break
                return [] if result is None else [result != negate]

            return equality
        if op in ("<", "<=", ">", ">="):
            test = {"<": lambda c: c < 0, "<=": lambda c: c <= 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0}[op]

            def comparison(focus, env):
                a, b = _single(left(focus, env)), _single(right(focus, env))
                if a is None or b is None:
                    return []
                order = _compare(a, b)
                return [] if order is None else [test(order)]

            return comparison
        if op in ("in", "contains"):
            element, collection = (left, right) if op == "in" else (right, left)

            def membership(focus, env):
                items = element(focus, env)
                if not items:
                    return []
                value = _single(items)
                return [any(_equal(value, other) for other in collection(focus, env))]

            return membership
        if op == "|":
            return lambda focus, env: _distinct(left(focus, env) + right(focus, env))
        if op == "&":

            def concatenate(focus, env):
                a, b = _single(left(focus, env)), _single(right(focus, env))
                return [(a if isinstance(a, str) else "") + (b if isinstance(b, str) else "")]

            return concatenate
        if op in ("+", "-", "*", "/", "div", "mod"):
            return _arithmetic(op, left, right)
        raise Unsupported(f"operator {op}")

    def _call(self, name: str, source: Fn, params: list) -> Fn:
        builder = FUNCTIONS.get(name)
        if builder is None:
            raise Unsupported(f"function {name}()")
        return builder(self, source, params)


def _logic(op: str, left: Fn, right: Fn) -> Fn:
    def logic(focus, env):
        a = _boolean(left(focus, env))
        if op == "and":
            if a is False:
                return [False]
            b = _boolean(right(focus, env))
            if b is False:
                return [False]
            return [True] if a and b else []
        if op == "or":
            if a is True:
                return [True]
            b = _boolean(right(focus, env))
            if b is True:
                return [True]
            return [False] if a is False and b is False else []
        if op == "implies":
            if a is False:
                return [True]
            b = _boolean(right(focus, env))
            if b is True:
                return [True]
            return [False] if a is True and b is False else []
        b = _boolean(right(focus, env))  # xor
        return [] if a is None or b is None else [a != b]

    return logic


def _arithmetic(op: str, left: Fn, right: Fn) -> Fn:
    def arithmetic(focus, env):
        a, b = _single(left(focus, env)), _single(right(focus, env))
        if a is None or b is None:
            return []
        if op == "+" and isinstance(a, str) and isinstance(b, str):
            return [a + b]
        numbers = (int, float)
        if not isinstance(a, numbers) or not isinstance(b, numbers) or isinstance(a, bool) or isinstance(b, bool):
            return []
        try:
            if op == "+":
                return [a + b]
            if op == "-":
                return [a - b]
            if op == "*":
                return [a * b]
            if op == "/":
                return [a / b]
            if op == "div":
                return [int(a // b)]
            return [a % b]
        except ZeroDivisionError:
            return []

    return arithmetic


# Functions: each builder gets the compiler, the compiled input and the parameters' trees.


def _lambda(compiler: _Compiler, params: list, position: int = 0) -> Fn | None:
    return compiler.compile(params[position]) if len(params) > position else None


def _f_exists(compiler, source, params):
    criteria = _lambda(compiler, params)
    if criteria is None:
        return lambda focus, env: [bool(source(focus, env))]
    return lambda focus, env: [any(_boolean(criteria([i], env)) for i in source(focus, env))]


def _f_where(compiler, source, params):
    criteria = compiler.compile(params[0])
    return lambda focus, env: [i for i in source(focus, env) if _boolean(criteria([i], env))]


def _f_all(compiler, source, params):
    criteria = compiler.compile(params[0])
    return lambda focus, env: [all(_boolean(criteria([i], env)) for i in source(focus, env))]


def _f_select(compiler, source, params):
    projection = compiler.compile(params[0])

    def select(focus, env):
        out: list = []
        for item in source(focus, env):
            out.extend(projection([item], env))
        return out

    return select


def _f_not(compiler, source, params):
    def negate(focus, env):
        value = _boolean(source(focus, env))
        return [] if value is None else [not value]

    return negate


def _f_iif(compiler, source, params):
    criterion = compiler.compile(params[0])
    then = compiler.compile(params[1])
    otherwise = compiler.compile(params[2]) if len(params) > 2 else None

    def iif(focus, env):
        items = source(focus, env)
        if _boolean(criterion(items, env)):
            return then(items, env)
        return otherwise(items, env) if otherwise else []

    return iif


def _f_string(method: Callable[[str, list], list], arity: int = 1):
    def build(compiler, source, params):
        arguments = [compiler.compile(p) for p in params[:arity]]

        def call(focus, env):
            value = _string(source(focus, env))
            if value is None:
                return []
            values = [_single(argument(focus, env)) for argument in arguments]
            if any(v is None for v in values[:1]) and arity:
                return []
            return method(value, values)

        return call

    return build


def _regex_fullmatch(value: str, args: list) -> list:
    return [_regex(args[0]).fullmatch(value) is not None]


@cache
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.DOTALL)


def _substring(value: str, args: list) -> list:
    start = args[0]
    if not isinstance(start, int) or start < 0 or start >= len(value):
        return []
    length = args[1] if len(args) > 1 else None
    return [value[start:] if length is None else value[start : start + length]]


def _to_integer(compiler, source, params):
    def to_integer(focus, env):
        value = _single(source(focus, env))
        if isinstance(value, bool):
            return [int(value)]
        if isinstance(value, int):
            return [value]
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
            return [int(value)]
        return []

    return to_integer


def _to_string(compiler, source, params):
    def to_string(focus, env):
        value = _single(source(focus, env))
        if value is None or isinstance(value, dict | NoValue):
            return []
        if isinstance(value, bool):
            return ["true" if value else "false"]
        if isinstance(value, float):
            try:
                return [str(Decimal(repr(value)))]
            except InvalidOperation:
                return [repr(value)]
        return [str(value)]

    return to_string


def _f_has_value(compiler, source, params):
    def has_value(focus, env):
        items = source(focus, env)
        return [len(items) == 1 and not isinstance(items[0], dict | list | NoValue)]

    return has_value


def _collection(function: Callable[[list, list], list]):
    def build(compiler, source, params):
        other = compiler.compile(params[0]) if params else None

        def call(focus, env):
            items = source(focus, env)
            return function(items, other(focus, env) if other else [])

        return call

    return build


def _intersect(items: list, other: list) -> list:
    keys = {_key(o) for o in other}
    return _distinct([i for i in items if _key(i) in keys])


def _simple(function: Callable[[list], list]):
    return lambda compiler, source, params: lambda focus, env: function(source(focus, env))


def _f_trace(compiler, source, params):
    return source


def _f_skip_take(take: bool):
    def build(compiler, source, params):
        count = compiler.compile(params[0])

        def call(focus, env):
            items = source(focus, env)
            n = _single(count(focus, env))
            if not isinstance(n, int):
                return []
            return items[:n] if take else items[n:]

        return call

    return build


FUNCTIONS: dict[str, Callable] = {
    "exists": _f_exists,
    "empty": _simple(lambda items: [not items]),
    "count": _simple(lambda items: [len(items)]),
    "not": _f_not,
    "where": _f_where,
    "all": _f_all,
    "select": _f_select,
    "iif": _f_iif,
    "first": _simple(lambda items: items[:1]),
    "last": _simple(lambda items: items[-1:]),
    "tail": _simple(lambda items: items[1:]),
    "skip": _f_skip_take(False),
    "take": _f_skip_take(True),
    "single": _simple(lambda items: [_single(items)] if items else []),
    "distinct": _simple(_distinct),
    "isDistinct": _simple(lambda items: [len(_distinct(items)) == len(items)]),
    "hasValue": _f_has_value,
    "children": _simple(lambda items: [c for i in items for c in _children(i)]),
    "descendants": _simple(_descendants),
    "trace": _f_trace,
    "combine": _collection(lambda items, other: items + other),
    "union": _collection(lambda items, other: _distinct(items + other)),
    "intersect": _collection(_intersect),
    "exclude": _collection(lambda items, other: [i for i in items if _key(i) not in {_key(o) for o in other}]),
    "matches": _f_string(_regex_fullmatch),
    "replaceMatches": _f_string(lambda v, a: [_regex(a[0]).sub(a[1], v)] if None not in a else [], 2),
    "startsWith": _f_string(lambda v, a: [v.startswith(a[0])] if isinstance(a[0], str) else []),
    "endsWith": _f_string(lambda v, a: [v.endswith(a[0])] if isinstance(a[0], str) else []),
    "contains": _f_string(lambda v, a: [a[0] in v] if isinstance(a[0], str) else []),
    "substring": _f_string(_substring, 2),
    "length": _f_string(lambda v, a: [len(v)], 0),
    "upper": _f_string(lambda v, a: [v.upper()], 0),
    "lower": _f_string(lambda v, a: [v.lower()], 0),
    "toInteger": _to_integer,
    "toString": _to_string,
}


LAMBDAS = frozenset({"exists", "where", "all", "select", "repeat"})


def _is_this(node: list) -> bool:
    """``$this``, or a leading type name (``Appointment`` in ``Appointment.status``), which filters it."""
    return node == ["this"] or (node[0] == "member" and node[1] == ["this"] and node[2][:1].isupper())


def reads(ast: list) -> frozenset[str] | None:
    """The element names ``ast`` reads from its context, or None when it reads more than its own children
    (variables, ``$this`` itself, ``children()``/``descendants()``). An invariant that holds on ``{}`` holds
    on any element where none of these names is present, so it need not be evaluated there."""
    names: set[str] = set()

    def visit(node: list, top: bool) -> bool:  # noqa: C901
        kind = node[0]
        if _is_this(node):
            return not top
        if kind == "member" and _is_this(node[1]):
            if top:
                names.add(node[2])
            return True
        if kind == "var":
            return False
        if kind == "call":
            if node[1] in ("children", "descendants") and _is_this(node[2]) and top:
                return False
            inner = top and node[1] not in LAMBDAS
            return visit(node[2], top) and all(visit(p, inner) for p in node[3])
        if kind in ("member", "neg", "is", "as"):
            return visit(node[1], top)
        if kind == "index":
            return visit(node[1], top) and visit(node[2], top)
        if kind == "op":
            return visit(node[2], top) and visit(node[3], top)
        return True

    return frozenset(names) if visit(ast, True) else None


_KEEPS_EMPTY = frozenset({"where", "select", "first", "last", "tail", "skip", "take", "distinct", "trace", "single"})
_COMPARISONS = frozenset({"=", "!=", "~", "!~", "<", "<=", ">", ">=", "in", "contains", "&", "+", "-"})


def _root(node: list) -> str | None:
    """The element a path starts from (``clinicalStatus`` in ``clinicalStatus.coding.where(...)``): when it is
    absent the whole path is empty."""
    kind = node[0]
    if kind == "member":
        return node[2] if _is_this(node[1]) else _root(node[1])
    if kind == "call" and node[1] in _KEEPS_EMPTY:
        return _root(node[2])
    if kind in ("index", "as"):
        return _root(node[1])
    return None


def _smallest(*options: frozenset[str] | None) -> frozenset[str] | None:
    found = [o for o in options if o is not None]
    return min(found, key=len) if found else None


def _both(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    return None if a is None or b is None else a | b


def _passes(node: list) -> frozenset[str] | None:  # noqa: C901
    """Names whose absence makes ``node`` true or empty (an invariant then holds), or None."""
    kind = node[0]
    if kind == "op" and node[1] == "or":
        return _smallest(_passes(node[2]), _passes(node[3]))
    if kind == "op" and node[1] == "and":
        return _both(_passes(node[2]), _passes(node[3]))
    if kind == "op" and node[1] == "implies":
        return _smallest(_fails(node[2]), _passes(node[3]))
    if kind == "op" and node[1] in _COMPARISONS:
        return _smallest(*(frozenset({r}) if (r := _root(side)) else None for side in node[2:4]))
    if kind == "call" and node[1] in ("empty", "all") and (root := _root(node[2])):
        return frozenset({root})
    if kind == "call" and node[1] == "not":
        return _fails(node[2])
    return None


def _fails(node: list) -> frozenset[str] | None:
    """Names whose absence makes ``node`` false or empty, or None."""
    kind = node[0]
    if kind == "op" and node[1] == "and":
        return _smallest(_fails(node[2]), _fails(node[3]))
    if kind == "op" and node[1] == "or":
        return _both(_fails(node[2]), _fails(node[3]))
    if kind == "op" and node[1] in _COMPARISONS:
        return _smallest(*(frozenset({r}) if (r := _root(side)) else None for side in node[2:4]))
    if kind == "call" and node[1] in ("exists", "hasValue") and (root := _root(node[2])):
        return frozenset({root})
    if kind == "call" and node[1] == "not":
        return _passes(node[2])
    if (root := _root(node)) is not None:
        return frozenset({root})  # a path as a boolean: empty when its start is absent
    return None


def triggers(ast: list) -> frozenset[str] | None:
    """A few element names without which ``ast`` is sure to hold: it need only run where one is present
    (``obs-6``: ``dataAbsentReason.empty() or value.empty()`` runs only where there is a dataAbsentReason)."""
    return _passes(ast)


def holds(fn: Fn, node, env: dict) -> bool:
    """Whether an invariant holds on ``node``: anything but a definite ``false``."""
    return _boolean(fn([node], env)) is not False


def is_true(fn: Fn, node, env: dict) -> bool:
    """Whether ``fn`` is definitely ``true`` on ``node`` (a ``where`` criterion)."""
    return _boolean(fn([node], env)) is True
