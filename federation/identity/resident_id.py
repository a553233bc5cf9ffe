"""China's 18-character resident identity number (GB 11643-1999).

Six digits of region, eight of birth date (YYYYMMDD), three of sequence (odd
for men, even for women) and a check character computed with ISO 7064
MOD 11-2 (``X`` stands for 10). Only a number that passes every check here is
ever used to match patients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
CHECK_CHARS = "10X98765432"  # indexed by (sum of weighted digits) mod 11
_SHAPE = re.compile(r"^\d{17}[\dX]$")
# FHIR NamingSystem URI used for resident ID identifiers across the hub.
RESIDENT_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"


def check_char(first17: str) -> str:
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("the check character is computed from exactly 17 digits")
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalize(value: str) -> str:
    """Strip blanks and upper-case a trailing ``x``: what people type is often ``...x``."""
    return re.sub(r"\s+", "", value or "").upper()


@dataclass(frozen=True)
class ResidentId:
    number: str
    region: str
    birth_date: date
    sex: str  # "male" | "female", FHIR administrative gender

    def __str__(self) -> str:
        return self.number


class InvalidResidentId(ValueError):
    """Why a value is not a valid resident ID."""


def parse(value: str) -> ResidentId:
    number = normalize(value)
    if not _SHAPE.match(number):
        raise InvalidResidentId("a resident ID is 17 digits followed by a digit or X")
    if number[0] == "0":
        raise InvalidResidentId("no region code starts with 0")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidResidentId("the birth date inside the number is not a real date") from None
    if born.year < 1880 or born > date.today():  # noqa: DTZ011 - a calendar date, no time zone involved
        raise InvalidResidentId("the birth date inside the number is out of range")
    if check_char(number[:17]) != number[17]:
        raise InvalidResidentId("the check character does not match (ISO 7064 MOD 11-2)")
    return ResidentId(
        number=number, region=number[:6], birth_date=born, sex="male" if int(number[16]) % 2 else "female"
    )


def is_valid(value: str) -> bool:
    try:
        parse(value)
    except InvalidResidentId:
        return False
    return True


def make(region: str, birth_date: date, sequence: int) -> str:
    """Build a valid number; ``sequence`` is 0..999 (odd for men, even for women)."""
    if len(region) != 6 or not region.isdigit() or region[0] == "0":
        raise ValueError("region is six digits not starting with 0")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence is 0..999")
    first17 = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
