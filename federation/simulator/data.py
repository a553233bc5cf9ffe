"""Synthetic records for a simulated county site: patients with clinical records, changing over time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from federation.simulator.people import Person, patient_resource, person_generate
from federation.simulator.store import SimStore

VITALS = [
    ("8867-4", "Heart rate", "/min", "次/分", 50, 130),
    ("8480-6", "Systolic blood pressure", "mm[Hg]", "毫米汞柱", 90, 190),
    ("8462-4", "Diastolic blood pressure", "mm[Hg]", "毫米汞柱", 55, 115),
    ("2708-6", "Oxygen saturation", "%", "%", 85, 100),
]
CONDITIONS = [
    ("I10", "原发性高血压"),
    ("E11.9", "2型糖尿病"),
    ("I21.9", "急性心肌梗死"),
    ("I63.9", "脑梗死"),
    ("J18.9", "肺炎"),
]


def patient_add(store: SimStore, person: Person, *, site: str, mrn: str) -> dict:
    patient = patient_resource(person, mrn_system=f"urn:site:{site}:mrn", mrn=mrn)
    patient["id"] = mrn.lower()
    return store.put(patient)


def encounter_add(store: SimStore, rng: random.Random, patient_id: str, when: datetime, n: int) -> dict:
    return store.put(
        {
            "resourceType": "Encounter",
            "id": f"{patient_id}-enc{n}",
            "status": "finished",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": rng.choice(["AMB", "EMER", "IMP"]),
            },
            "subject": {"reference": f"Patient/{patient_id}"},
            "period": {"start": when.isoformat(), "end": (when + timedelta(hours=2)).isoformat()},
        }
    )


def observation_add(
    store: SimStore, rng: random.Random, patient_id: str, encounter_id: str, when: datetime, n: int
) -> dict:
    code, display, unit, _zh, low, high = rng.choice(VITALS)
    return store.put(
        {
            "resourceType": "Observation",
            "id": f"{patient_id}-obs{n}",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                    ]
                }
            ],
            "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]},
            "subject": {"reference": f"Patient/{patient_id}"},
            "encounter": {"reference": f"Encounter/{encounter_id}"},
            "effectiveDateTime": when.isoformat(),
            "valueQuantity": {
                "value": rng.randint(low, high),
                "unit": unit,
                "system": "http://unitsofmeasure.org",
                "code": unit,
            },
        }
    )


def condition_add(store: SimStore, rng: random.Random, patient_id: str, n: int) -> dict:
    code, text = rng.choice(CONDITIONS)
    return store.put(
        {
            "resourceType": "Condition",
            "id": f"{patient_id}-cond{n}",
            "clinicalStatus": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
            },
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}], "text": text},
            "subject": {"reference": f"Patient/{patient_id}"},
        }
    )


def site_populate(
    store: SimStore,
    *,
    site: str,
    region: str,
    district: str,
    patients: int,
    records_per_patient: int = 3,
    seed: int = 1,
) -> list[Person]:
    """Add ``patients`` people, each with ``records_per_patient`` records (encounter, condition, observations)."""
    rng = random.Random(f"{seed}-{site}")
    people = []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(patients):
        person = person_generate(rng, region=region, district=district)
        people.append(person)
        people_add(
            store, rng, person, site=site, mrn=f"{site[-1].upper()}{n:07d}", records=records_per_patient, start=start
        )
    return people


def people_add(
    store: SimStore, rng: random.Random, person: Person, *, site: str, mrn: str, records: int, start: datetime
) -> str:
    patient = patient_add(store, person, site=site, mrn=mrn)
    pid = patient["id"]
    when = start + timedelta(minutes=rng.randint(0, 60 * 24 * 300))
    if records >= 1:
        encounter_add(store, rng, pid, when, 1)
    if records >= 2:
        condition_add(store, rng, pid, 1)
    for n in range(max(0, records - 2)):
        observation_add(store, rng, pid, f"{pid}-enc1", when + timedelta(minutes=5 * n), n + 1)
    return pid


def records_change(store: SimStore, rng: random.Random, *, count: int) -> list[str]:
    """Change ``count`` records as a busy site would: new phones, new observations. Returns what changed."""
    changed = []
    patients = list(store.resources.get("Patient", {}).values())
    for _ in range(count):
        patient = rng.choice(patients)
        if rng.random() < 0.5:
            updated = {k: v for k, v in patient.items() if k != "meta"}
            updated["telecom"] = [{"system": "phone", "value": f"139{rng.randrange(0, 10**8):08d}", "use": "mobile"}]
            store.put(updated)
            changed.append(f"Patient/{patient['id']}")
        else:
            n = rng.randrange(100, 10**9)
            obs = observation_add(store, rng, patient["id"], f"{patient['id']}-enc1", datetime.now(UTC), n)
            changed.append(f"Observation/{obs['id']}")
    return changed
