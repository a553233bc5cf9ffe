"""A compact UCUM canonicaliser: a unit code to a factor (and offset) over base units.

Quantity search compares values in canonical units when the system is UCUM
(http://hl7.org/fhir/R4/search.html#quantity: "the server may choose to perform unit conversion"), so
``5.4|http://unitsofmeasure.org|mmol/L`` finds 5400 umol/L and ``gt0.1||g`` in UCUM finds 150 mg.

The grammar is UCUM's (https://ucum.org/ucum#section-Syntax-Rules): ``.`` and ``/`` join components, a
component is a prefixed atom with an integer exponent (``cm3``, ``s-1``), a number (``10*3``, ``10^9``), a
parenthesised term, or an annotation (``{beats}``, which counts as 1). The atoms are the ones clinical
data uses; an unknown one makes the whole code unknown, and such quantities are matched by their exact
code as before. One departure from UCUM: ``mol`` is a base dimension of its own (UCUM makes it a plain
number, 6.0221367e23), so that a molar concentration never matches a cell count. Temperatures on a
scale with an offset (``Cel``, ``[degF]``) are converted only when they stand alone; ``Cel/h`` is unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

SYSTEM = "http://unitsofmeasure.org"

PREFIXES = {
    "Y": Decimal("1e24"),
    "Z": Decimal("1e21"),
    "E": Decimal("1e18"),
    "P": Decimal("1e15"),
    "T": Decimal("1e12"),
    "G": Decimal("1e9"),
    "M": Decimal("1e6"),
    "k": Decimal("1e3"),
    "h": Decimal("1e2"),
    "da": Decimal("1e1"),
    "d": Decimal("1e-1"),
    "c": Decimal("1e-2"),
    "m": Decimal("1e-3"),
    "u": Decimal("1e-6"),
    "n": Decimal("1e-9"),
    "p": Decimal("1e-12"),
    "f": Decimal("1e-15"),
    "a": Decimal("1e-18"),
    "z": Decimal("1e-21"),
    "y": Decimal("1e-24"),
}


@dataclass(frozen=True)
class Unit:
    """``value [unit] = (value + offset) * factor [dims]``; ``dims`` is sorted ``((base, exponent), ...)``."""

    factor: Decimal
    dims: tuple[tuple[str, int], ...] = ()
    offset: Decimal = Decimal(0)

    def __mul__(self, other: Unit) -> Unit:
        dims = dict(self.dims)
        for base, exponent in other.dims:
            dims[base] = dims.get(base, 0) + exponent
        return Unit(self.factor * other.factor, _dims(dims))

    def power(self, exponent: int) -> Unit:
        return Unit(self.factor**exponent, _dims({base: power * exponent for base, power in self.dims}))

    @property
    def canonical(self) -> str:
        """The canonical unit as a UCUM-like code: ``g.m-3``, ``mol.m-3``, ``1`` for none."""
        return ".".join(f"{base}{'' if power == 1 else power}" for base, power in self.dims) or "1"


def _dims(dims: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((base, power) for base, power in dims.items() if power))


def _u(factor: str, **dims: int) -> Unit:
    return Unit(Decimal(factor), _dims(dims))


_PA = _u("1000", g=1, m=-1, s=-2)
_J = _u("1000", g=1, m=2, s=-2)
# Atoms that take a metric prefix (UCUM "metric" units).
METRIC = {
    "m": _u("1", m=1),
    "g": _u("1", g=1),
    "s": _u("1", s=1),
    "K": _u("1", K=1),
    "mol": _u("1", mol=1),
    "eq": _u("1", mol=1),
    "Eq": _u("1", mol=1),  # not UCUM ("meq"), but what lab systems send as "mEq/L"
    "osm": _u("1", mol=1),
    "kat": _u("1", mol=1, s=-1),
    "U": Unit(Decimal("1e-6") / 60, (("mol", 1), ("s", -1))),  # umol/min
    "L": _u("0.001", m=3),
    "l": _u("0.001", m=3),
    "t": _u("1e6", g=1),
    "Pa": _PA,
    "bar": Unit(Decimal("1e5")) * _PA,
    "m[Hg]": Unit(Decimal("133322")) * _PA,
    "m[H2O]": Unit(Decimal("9806.65")) * _PA,
    "N": _u("1000", g=1, m=1, s=-2),
    "J": _J,
    "W": _J * _u("1", s=-1),
    "cal": Unit(Decimal("4.184")) * _J,
    "Hz": _u("1", s=-1),
    "[iU]": _u("1", **{"[IU]": 1}),
    "[IU]": _u("1", **{"[IU]": 1}),
}
# Atoms without prefixes.
PLAIN = {
    "min": _u("60", s=1),
    "h": _u("3600", s=1),
    "d": _u("86400", s=1),
    "wk": _u("604800", s=1),
    "mo": _u("2629800", s=1),  # mean Julian month
    "a": _u("31557600", s=1),  # Julian year
    "a_j": _u("31557600", s=1),
    "mo_j": _u("2629800", s=1),
    "%": _u("0.01"),
    "[ppth]": _u("0.001"),
    "[ppm]": _u("0.000001"),
    "[lb_av]": _u("453.59237", g=1),
    "[oz_av]": _u("28.349523125", g=1),
    "[in_i]": _u("0.0254", m=1),
    "[ft_i]": _u("0.3048", m=1),
    "[mi_i]": _u("1609.344", m=1),
    "[drp]": _u("0.00000005", m=3),  # 1/20 mL
    "[arb'U]": _u("1", **{"[arb'U]": 1}),
}
# Scales with an offset, only on their own: to kelvin.
AFFINE = {
    "Cel": Unit(Decimal(1), (("K", 1),), Decimal("273.15")),
    "[degF]": Unit(Decimal(5) / Decimal(9), (("K", 1),), Decimal("459.67")),
}
_TOKEN = re.compile(
    r"(?P<open>\()|(?P<close>\))|(?P<op>[./])|(?P<ann>\{[^{}]*\})"
    r"|(?P<num>\d+)(?:[*^](?P<exp10>[+-]?\d+))?"
    r"|(?P<sym>(?:\[[^\[\]]*\]|[^\s.()/{}\[\]\d+-])+)(?P<exp>[+-]?\d+)?"
)


class UnknownUnit(ValueError):
    pass


def _atom(symbol: str) -> Unit:
    if symbol in PLAIN:
        return PLAIN[symbol]
    if symbol in METRIC:
        return METRIC[symbol]
    for size in (2, 1):
        prefix, rest = symbol[:size], symbol[size:]
        if prefix in PREFIXES and rest in METRIC:
            return Unit(PREFIXES[prefix]) * METRIC[rest]
    raise UnknownUnit(symbol)


class _Parser:
    def __init__(self, code: str):
        self.tokens: list[re.Match] = []
        position = 0
        while position < len(code):
            found = _TOKEN.match(code, position)
            if not found or found.end() == position:
                raise UnknownUnit(code)
            self.tokens.append(found)
            position = found.end()
        self.index = 0

    def peek(self) -> re.Match | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> re.Match:
        token = self.peek()
        if token is None:
            raise UnknownUnit("unexpected end")
        self.index += 1
        return token

    def term(self) -> Unit:
        token = self.peek()
        if token is not None and token["op"] == "/":  # "/min"
            self.take()
            unit = self.component().power(-1)
        else:
            unit = self.component()
        while (token := self.peek()) is not None and token["op"]:
            self.take()
            following = self.component()
            unit = unit * (following.power(-1) if token["op"] == "/" else following)
        return unit

    def component(self) -> Unit:
        token = self.take()
        if token["open"]:
            unit = self.term()
            if not self.take()["close"]:
                raise UnknownUnit("unbalanced parenthesis")
        elif token["ann"]:
            return Unit(Decimal(1))
        elif token["num"]:
            number = Decimal(token["num"])
            unit = Unit(number ** int(token["exp10"]) if token["exp10"] else number)
        elif token["sym"]:
            unit = _atom(token["sym"])
            if token["exp"]:
                unit = unit.power(int(token["exp"]))
        else:
            raise UnknownUnit(token.group())
        if (following := self.peek()) is not None and following["ann"]:  # mg{creat}
            self.take()
        return unit


@lru_cache(maxsize=4096)
def parse(code: str) -> Unit | None:
    """The unit of a UCUM code, or ``None`` when it is not one this module knows."""
    if not isinstance(code, str) or not code or len(code) > 100:
        return None
    if code in AFFINE:
        return AFFINE[code]
    try:
        parser = _Parser(code)
        unit = parser.term()
        if parser.peek() is not None:
            return None
    except (UnknownUnit, ArithmeticError):  # decimal's Overflow, InvalidOperation, DivisionByZero
        return None
    if not unit.factor.is_finite() or unit.factor <= 0:
        return None
    return unit


def to_canonical(value: Decimal, unit: Unit) -> Decimal:
    return (value + unit.offset) * unit.factor


def canonical(value: object, code: object) -> tuple[float, str] | None:
    """``(value, unit)`` in canonical units, or ``None`` (unknown unit, or a value no double holds)."""
    unit = parse(code) if isinstance(code, str) else None
    if unit is None or isinstance(value, bool):
        return None
    try:
        number = float(to_canonical(Decimal(str(value)), unit))
    except (ArithmeticError, ValueError):
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number, unit.canonical
