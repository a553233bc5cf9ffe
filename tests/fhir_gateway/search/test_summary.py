"""``_summary`` on read and search over HTTP (http://hl7.org/fhir/R4/search.html#summary).

``text`` keeps ``text``, ``id``, ``meta`` and the top-level mandatory elements; ``true`` the elements
marked as summary (and the mandatory ones). The expected mandatory elements are written out by hand
from the R4 resource pages' cardinalities, independently of the models the gateway derives them from.
"""

from __future__ import annotations

import pytest

from fhir_gateway.validation import required_elements
from tests.fhir_gateway.search.samples import LOINC, UCUM

pytestmark = pytest.mark.django_db
SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">空腹血糖 7.2 mmol/L</div>'}


@pytest.fixture
def glucose(store) -> dict:
    return store.put(
        {
            "resourceType": "Observation",
            "id": "glucose",
            "text": NARRATIVE,
            "status": "final",
            "_status": {"extension": [{"url": "http://example.org/checked", "valueBoolean": True}]},
            "category": [{"coding": [{"system": "http://example.org/cat", "code": "laboratory"}]}],
            "code": {"coding": [{"system": LOINC, "code": "15074-8"}]},
            "subject": {"reference": "Patient/wang"},
            "effectiveDateTime": "2024-05-01",
            "valueQuantity": {"value": 7.2, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"},
            "note": [{"text": "复查"}],
        }
    )


@pytest.fixture
def order(store) -> dict:
    return store.put(
        {
            "resourceType": "MedicationRequest",
            "id": "metformin",
            "text": NARRATIVE,
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": "二甲双胍"},
            "subject": {"reference": "Patient/wang"},
            "note": [{"text": "饭后服用"}],
        }
    )


def _entry(fhir, query: str) -> dict:
    response = fhir.get(query)
    assert response.status_code == 200, response.content
    return response.json()["entry"][0]["resource"]


@pytest.mark.parametrize("how", ["read", "search"])
def test_summary_text_keeps_the_narrative_and_the_mandatory_elements(fhir, glucose, order, how):
    if how == "read":
        observation = fhir.get("/fhir/Observation/glucose?_summary=text").json()
        medication = fhir.get("/fhir/MedicationRequest/metformin?_summary=text").json()
    else:
        observation = _entry(fhir, "/fhir/Observation?_id=glucose&_summary=text")
        medication = _entry(fhir, "/fhir/MedicationRequest?_id=metformin&_summary=text")

    # Observation.status and .code are 1..1; MedicationRequest.status, intent, medication[x], subject are 1..1.
    assert set(observation) == {"resourceType", "id", "meta", "text", "status", "_status", "code"}
    assert set(medication) == {
        "resourceType",
        "id",
        "meta",
        "text",
        "status",
        "intent",
        "medicationCodeableConcept",
        "subject",
    }
    assert observation["text"] == NARRATIVE
    assert SUBSETTED in observation["meta"]["tag"] and SUBSETTED in medication["meta"]["tag"]


@pytest.mark.parametrize("how", ["read", "search"])
def test_summary_true_follows_the_summary_flags(fhir, glucose, how):
    if how == "read":
        observation = fhir.get("/fhir/Observation/glucose?_summary=true").json()
    else:
        observation = _entry(fhir, "/fhir/Observation?_id=glucose&_summary=true")

    # Observation: status, code, subject, effective[x], value[x] are summary; category, note, text are not.
    assert set(observation) == {
        "resourceType",
        "id",
        "meta",
        "status",
        "_status",
        "code",
        "subject",
        "effectiveDateTime",
        "valueQuantity",
    }


@pytest.mark.parametrize("how", ["read", "search"])
def test_summary_true_filters_inside_backbone_elements_and_keeps_data_types_whole(fhir, store, how):
    component = {
        "code": {"coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic"}], "text": "收缩压"},
        "valueQuantity": {"value": 150, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
        "interpretation": [{"coding": [{"code": "H"}]}],  # not summary inside a component
        "referenceRange": [{"low": {"value": 90}}],  # nor this
    }
    store.put(
        {
            "resourceType": "Observation",
            "id": "bp",
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
            "subject": {"reference": "Patient/wang"},
            "component": [component, {**component, "valueQuantity": {"value": 95}}],
            "referenceRange": [{"text": "normal"}],  # not summary at the top either
        }
    )
    if how == "read":
        observation = fhir.get("/fhir/Observation/bp?_summary=true").json()
    else:
        observation = _entry(fhir, "/fhir/Observation?_id=bp&_summary=true")
    assert "referenceRange" not in observation
    assert [set(item) for item in observation["component"]] == [{"code", "valueQuantity"}] * 2
    assert observation["component"][0]["code"] == component["code"]  # a CodeableConcept stays whole
    assert observation["component"][1]["valueQuantity"] == {"value": 95}
    full = fhir.get("/fhir/Observation/bp").json()
    assert full["component"][0]["referenceRange"] == [{"low": {"value": 90}}]  # only the answer is subsetted


def test_summary_true_keeps_mandatory_elements_the_flags_leave_out(fhir, store):
    store.put(
        {
            "resourceType": "Appointment",
            "id": "visit",
            "status": "booked",
            "description": "心内科复诊",
            "start": "2026-03-02T09:00:00+08:00",
            "end": "2026-03-02T09:30:00+08:00",
            "participant": [{"actor": {"reference": "Patient/wang"}, "status": "accepted"}],
        }
    )
    appointment = fhir.get("/fhir/Appointment/visit?_summary=true").json()

    assert "participant" in appointment  # Appointment.participant is 1..* but not marked summary in R4
    assert "description" not in appointment


def test_summary_data_and_false(fhir, glucose):
    data = fhir.get("/fhir/Observation/glucose?_summary=data").json()
    assert "text" not in data and "note" in data and SUBSETTED in data["meta"]["tag"]
    full = fhir.get("/fhir/Observation/glucose?_summary=false").json()
    assert full["text"] == NARRATIVE and SUBSETTED not in full["meta"].get("tag", [])


@pytest.mark.parametrize("query", ["/fhir/Observation/glucose?_summary=maybe", "/fhir/Observation?_summary=maybe"])
def test_a_bad_summary_is_a_400_naming_it(fhir, glucose, query):
    response = fhir.get(query)
    assert response.status_code == 400, response.content
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["expression"] == ["_summary"]


# From the R4 resource pages (the "Card." column): top-level elements with a minimum of 1.
R4_MANDATORY = {
    "Patient": set(),
    "Observation": {"status", "code"},
    "Encounter": {"status", "class"},
    "Condition": {"subject"},
    "MedicationRequest": {"status", "intent", "medicationCodeableConcept", "medicationReference", "subject"},
    "ServiceRequest": {"status", "intent", "subject"},
    "Task": {"status", "intent"},
    "Bundle": {"type"},
    "Appointment": {"status", "participant"},
    "Consent": {"status", "scope", "category"},
    "Composition": {"status", "type", "date", "author", "title"},
    "DocumentReference": {"status", "content"},
    "AuditEvent": {"type", "recorded", "agent", "source"},
    "Provenance": {"target", "recorded", "agent"},
}


@pytest.mark.parametrize("resource_type", sorted(R4_MANDATORY))
def test_the_mandatory_elements_are_those_of_the_r4_definitions(resource_type):
    assert required_elements(resource_type) == R4_MANDATORY[resource_type]


def test_an_unknown_type_has_no_mandatory_elements():
    assert required_elements("Nonsense") == frozenset()
