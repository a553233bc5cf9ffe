"""The demo's people: the federation simulator's synthetic residents, as a hospital's system records them.

Deterministic for a given seed, so the demo and tests see the same people.
"""

from __future__ import annotations

from federation.simulator.people import Person, patient_resource, person_generate

__all__ = ["Person", "person_generate", "person_to_fhir"]

_V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
_SYLLABIC = {"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": "SYL"}


def person_to_fhir(person: Person, *, mrn_system: str, mrn: str) -> dict:
    """A FHIR R4 Patient for ``person`` at one site (``mrn`` is that site's record number), with typed
    identifiers (resident ID ``NI``, record number ``MR``), the pinyin name marked syllabic and the address text."""
    patient = patient_resource(person, mrn_system=mrn_system, mrn=mrn)
    resident_id, record_number = patient["identifier"]
    resident_id["type"] = {"coding": [{"system": _V2_0203, "code": "NI"}], "text": "居民身份证"}
    record_number["type"] = {"coding": [{"system": _V2_0203, "code": "MR"}]}
    patient["identifier"] = [resident_id, record_number]
    patient["name"][1]["extension"] = [_SYLLABIC]
    address = patient["address"][0]
    address["text"] = f"{person.city}{person.district}{person.line}"
    return patient
