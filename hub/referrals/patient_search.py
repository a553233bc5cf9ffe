"""Finding a patient to start a request from: by name (characters or pinyin), record number, resident ID or phone.

Every search runs through the FHIR gateway as the person searching (their access rules filter it and it is
audited); pinyin typed without spaces ("liming") is looked up in the master patient index's name features of
the person's own site, whose matches are then read through the gateway like the rest. The same person's records
at other sites (the master patient index) are listed only where the searcher may see them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.conf import settings

from federation.identity import resident_id
from federation.identity.names import name_key
from federation.identity.selectors import patient_ids_by_pinyin, person_of
from federation.sites.models import Site
from fhir_gateway.public import owner_of
from hub.access.patients import patient_visible
from hub.accounts.fhir import actor_of

MAX_RESULTS = 20
MIN_LENGTH = 2
_DIGITS = re.compile(r"\D")
_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"^[A-Za-z\s'\-]+$")
_TOKEN = re.compile(r"^[A-Za-z0-9\-_.]+$")


@dataclass(frozen=True)
class PatientFound:
    reference: str
    name: str
    latin_name: str
    gender: str
    birth_date: str
    age: int | None
    record_numbers: tuple[str, ...]
    resident_id_masked: str
    phone_masked: str
    elsewhere: tuple[tuple[str, str], ...]  # (site name, ``Patient/<id>``) of the same person, as access allows


def mask_resident_id(value: str) -> str:
    """The first 6 and last 4 characters of a resident ID; the rest hidden."""
    value = resident_id.normalize(value)
    return value if len(value) <= 10 else f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def mask_phone(value: str) -> str:
    digits = _DIGITS.sub("", value or "")
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else ""


def _age(birth: str, today: date) -> int | None:
    try:
        born = date.fromisoformat(birth[:10])
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _search(user, params: list[tuple[str, str]]) -> list[dict]:
    from fhir_gateway import services as fhir
    from fhir_gateway.errors import FhirError

    try:
        bundle = fhir.resource_search(
            resource_type="Patient",
            params=[*params, ("_count", str(MAX_RESULTS))],
            actor=actor_of(user),
            base_url=settings.FEDERATION_HUB_BASE_URL,
        )
    except FhirError:
        return []
    return [e["resource"] for e in bundle.get("entry") or [] if e.get("resource", {}).get("resourceType") == "Patient"]


def _pinyin_ids(*, site_code: str, text: str) -> list[str]:
    """Patients of the site whose name, in toneless pinyin, starts with ``text`` (spaces ignored)."""
    wanted = name_key(text).plain
    if len(wanted) < MIN_LENGTH:
        return []
    return patient_ids_by_pinyin(site_code=site_code, prefix=wanted, limit=MAX_RESULTS)


def _queries(text: str) -> list[list[tuple[str, str]]]:
    """The gateway searches a query stands for."""
    queries: list[list[tuple[str, str]]] = []
    compact = re.sub(r"\s+", "", text)
    if _TOKEN.match(compact):
        queries.append([("identifier", compact)])
        upper = resident_id.normalize(compact)  # "a000007" as written on the wristband, "...x" of a resident ID
        if upper != compact:
            queries.append([("identifier", upper)])
    digits = _DIGITS.sub("", text)
    if len(digits) >= 7 and len(digits) == len(compact):
        queries.append([("phone", digits)])
    if _HAN.search(text) or _LATIN.match(text):
        queries.append([("name", text.strip())])
    return queries


def _names(patient: dict) -> tuple[str, str]:
    han = latin = ""
    for name in patient.get("name") or []:
        text = name.get("text") or ((name.get("family") or "") + "".join(name.get("given") or []))
        if not text:
            continue
        if _HAN.search(text):
            han = han or text
        else:
            latin = latin or text
    return han or latin, latin if han else ""


def _found(user, patient: dict, today: date, site_names: dict[str, str]) -> PatientFound:
    reference = f"Patient/{patient['id']}"
    numbers, rid = [], ""
    for identifier in patient.get("identifier") or []:
        system, value = identifier.get("system", ""), identifier.get("value", "")
        if system in (resident_id.RESIDENT_ID_SYSTEM, "urn:alliance:resident-id"):
            rid = rid or value
        elif value:
            numbers.append(value)
    phone = next((t.get("value", "") for t in patient.get("telecom") or [] if t.get("system") == "phone"), "")
    person = person_of(patient_id=patient["id"])
    elsewhere = tuple(
        (site_names.get(site, site), ref)
        for site, ref in (person.patients if person else ())
        if ref != reference and patient_visible(user, ref)
    )
    name, latin = _names(patient)
    return PatientFound(
        reference=reference,
        name=name,
        latin_name=latin,
        gender=patient.get("gender", ""),
        birth_date=patient.get("birthDate", ""),
        age=_age(patient.get("birthDate", ""), today),
        record_numbers=tuple(numbers),
        resident_id_masked=mask_resident_id(rid) if rid else "",
        phone_masked=mask_phone(phone),
        elsewhere=elsewhere,
    )


def patients_search(*, user, text: str, today: date | None = None) -> list[PatientFound]:
    """Patients of the searcher's own site matching ``text``; [] for a too short query or a user without a site."""
    from django.utils import timezone

    text = (text or "").strip()[:100]
    if len(text) < MIN_LENGTH or not getattr(user, "site_id", None):
        return []
    site_code = user.site.code
    found: dict[str, dict] = {}
    for params in _queries(text):
        for patient in _search(user, params):
            found.setdefault(patient["id"], patient)
    if _LATIN.match(text):
        ids = [pid for pid in _pinyin_ids(site_code=site_code, text=text) if pid not in found]
        if ids:
            for patient in _search(user, [("_id", ",".join(ids))]):
                found.setdefault(patient["id"], patient)
    today = today or timezone.localdate()
    site_names = dict(Site.objects.values_list("code", "name"))
    own = [p for p in found.values() if owner_of(resource_type="Patient", fhir_id=p["id"]) == site_code]
    return [_found(user, p, today, site_names) for p in own[:MAX_RESULTS]]
