"""The demo patients: each county hospital's people, stored in the FHIR gateway as Patients.

Idempotent: every Patient is a conditional create on its site's record number (MRN), so loading the
demo again creates nothing. A few people are registered at two counties (same person, another MRN),
for the master patient index to find.
"""

from __future__ import annotations

from fhir_gateway.context import INTERNAL, Actor
from fhir_gateway.services import bundle_process
from hub.demo.people import Person, person_to_fhir
from hub.demo.services import COUNTIES, demo_people

# (county holding the person, county that registered them too): the people seen at two sites.
SHARED_PEOPLE = [("county-a", "county-b", 0), ("county-a", "county-c", 1), ("county-b", "county-d", 2)]
BASE_URL = "http://demo.invalid/fhir"


def mrn_system(site_code: str) -> str:
    return f"urn:alliance:site:{site_code}:mrn"


def _entry(person: Person, site_code: str, mrn: str) -> dict:
    system = mrn_system(site_code)
    return {
        "resource": person_to_fhir(person, mrn_system=system, mrn=mrn),
        "request": {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier={system}|{mrn}"},
    }


def demo_patients_load() -> int:
    """Store the demo Patients (creating only the missing ones); returns how many demo Patients there are."""
    people = {code: demo_people(code, region, district) for code, _name, _en, region, district in COUNTIES}
    entries: dict[str, list[dict]] = {code: [] for code in people}
    for code, persons in people.items():
        letter = code.rsplit("-", 1)[-1].upper()
        entries[code] += [_entry(person, code, f"{letter}{n:06d}") for n, person in enumerate(persons, 1)]
    for home, other, index in SHARED_PEOPLE:
        letter = other.rsplit("-", 1)[-1].upper()
        entries[other].append(_entry(people[home][index], other, f"{letter}9{index:05d}"))
    total = 0
    for code, site_entries in entries.items():
        actor = Actor(kind=INTERNAL, id="demo", display="Demo loader", site=code)
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": site_entries}
        bundle_process(bundle=bundle, actor=actor, base_url=BASE_URL)
        total += len(site_entries)
    return total
