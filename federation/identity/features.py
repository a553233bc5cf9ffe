"""What the matcher compares, read out of a FHIR Patient.

Features are stored with each MPI record (as a small JSON dict) so that matching
never re-parses resources; blocking keys are the cheap exact keys under which
candidates are looked up.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from federation.identity import resident_id
from federation.identity.names import NameKey, name_key, split_han_full_name, split_latin_full_name

_DIGITS = re.compile(r"\D")


@dataclass(frozen=True)
class Features:
    rid: str  # a valid resident ID, else ""
    family: NameKey
    given: NameKey
    birth_date: str  # YYYY-MM-DD or ""
    gender: str
    phone: str
    district: str
    line: str

    def to_json(self) -> dict:
        data = asdict(self)
        data["family"] = list(data["family"].values())
        data["given"] = list(data["given"].values())
        return data

    @classmethod
    def from_json(cls, data: dict) -> Features:
        return cls(**{**data, "family": NameKey(*data["family"]), "given": NameKey(*data["given"])})


def _names(patient: dict) -> tuple[NameKey, NameKey, NameKey, NameKey]:
    """(family, given) in characters if any, and in Latin letters if any."""
    han = latin = (name_key(""), name_key(""))
    for name in patient.get("name") or []:
        family = name.get("family") or ""
        given = "".join(name.get("given") or [])
        if not family and not given and name.get("text"):
            text = name["text"]
            family, given = split_latin_full_name(text) if text.isascii() else split_han_full_name(text)
        if not family and not given:
            continue
        pair = (name_key(family), name_key(given))
        if pair[0].han or pair[1].han:
            han = han if han[0].plain else pair
        elif not latin[0].plain:
            latin = pair
    return (*han, *latin)


def patient_features(patient: dict) -> Features:
    rid = ""
    for identifier in patient.get("identifier") or []:
        if identifier.get("system") == resident_id.RESIDENT_ID_SYSTEM and resident_id.is_valid(
            identifier.get("value", "")
        ):
            rid = resident_id.normalize(identifier["value"])
            break
    han_family, han_given, latin_family, latin_given = _names(patient)
    family, given = (han_family, han_given) if han_family.plain else (latin_family, latin_given)
    phone = ""
    for telecom in patient.get("telecom") or []:
        if telecom.get("system") == "phone" and telecom.get("value"):
            phone = _DIGITS.sub("", telecom["value"])[-11:]
            break
    district = line = ""
    for address in patient.get("address") or []:
        district = address.get("district") or ""
        line = "".join(address.get("line") or [])
        break
    return Features(
        rid=rid,
        family=family,
        given=given,
        birth_date=(patient.get("birthDate") or "")[:10],
        gender=patient.get("gender") or "",
        phone=phone,
        district=district,
        line=line,
    )


def blocking_keys(features: Features) -> list[str]:
    """Exact keys under which candidates are looked up; a true match shares at least one in practice."""
    keys = []
    if features.rid:
        keys.append(f"r:{features.rid}")
    if len(features.phone) >= 7:
        keys.append(f"t:{features.phone}")
    name = features.family.fuzzy + "|" + features.given.fuzzy
    if features.given.fuzzy:
        if features.birth_date:
            keys.append(f"nd:{name}|{features.birth_date}")
            keys.append(f"ny:{name}|{features.birth_date[:4]}")
            # The same people with family and given names swapped ("Ming Li").
            keys.append(f"nd:{features.given.fuzzy}|{features.family.fuzzy}|{features.birth_date}")
        if features.line:
            keys.append(f"nl:{name}|{features.line}")
    if features.family.fuzzy and features.birth_date:
        keys.append(f"fd:{features.family.fuzzy}|{features.birth_date}|{features.gender}")
    return keys
