"""Token ``:in`` and ``:not-in`` against value sets the gateway stores (http://hl7.org/fhir/R4/search.html#modifiers)."""

from __future__ import annotations

import pytest

from fhir_gateway.errors import FhirError
from tests.fhir_gateway.search.conftest import ids
from tests.fhir_gateway.search.samples import LOINC, observation

SNOMED = "http://snomed.info/sct"
DIABETES = "http://alliance.example/fhir/ValueSet/diabetes-labs"


@pytest.fixture
def records(store):
    store.put(
        {
            "resourceType": "ValueSet",
            "id": "diabetes-labs",
            "url": DIABETES,
            "version": "2",
            "status": "active",
            "compose": {
                "include": [{"system": LOINC, "concept": [{"code": code} for code in ("15074-8", "4548-4", "2345-7")]}],
                "exclude": [{"system": LOINC, "concept": [{"code": "2345-7"}]}],
            },
        }
    )
    store.put(
        {
            "resourceType": "ValueSet",
            "id": "expanded",
            "url": "http://alliance.example/fhir/ValueSet/expanded",
            "status": "active",
            "expansion": {
                "timestamp": "2026-01-01T00:00:00Z",
                "contains": [
                    {"abstract": True, "display": "Haematology", "contains": [{"system": LOINC, "code": "718-7"}]}
                ],
            },
        }
    )
    store.put(
        {
            "resourceType": "ValueSet",
            "id": "all-snomed",
            "url": "http://alliance.example/fhir/ValueSet/all-snomed",
            "status": "active",
            "compose": {"include": [{"system": SNOMED}, {"valueSet": [DIABETES]}]},
        }
    )
    store.put(
        {
            "resourceType": "ValueSet",
            "id": "by-filter",
            "url": "http://alliance.example/fhir/ValueSet/by-filter",
            "status": "active",
            "compose": {
                "include": [{"system": SNOMED, "filter": [{"property": "concept", "op": "is-a", "value": "x"}]}]
            },
        }
    )
    store.put(
        {
            "resourceType": "ValueSet",
            "id": "loinc-but-2345",
            "url": "http://alliance.example/fhir/ValueSet/loinc-but-2345",
            "status": "active",
            "compose": {
                "include": [{"system": LOINC}],
                "exclude": [{"system": LOINC, "concept": [{"code": "2345-7"}]}],
            },
        }
    )
    store.put(
        {
            "resourceType": "ValueSet",
            "id": "all-loinc-again",
            "url": "http://alliance.example/fhir/ValueSet/all-loinc-again",
            "status": "active",
            "compose": {
                "include": [{"valueSet": ["http://alliance.example/fhir/ValueSet/loinc-but-2345"]}, {"system": LOINC}]
            },
        }
    )
    store.put(observation("glucose", "Patient/p1", "15074-8", 7.2, "mmol/L", when="2024-01-01"))
    store.put(observation("hba1c", "Patient/p1", "4548-4", 6.1, "%", when="2024-01-01"))
    store.put(observation("sugar-2345", "Patient/p1", "2345-7", 5.5, "mmol/L", when="2024-01-01"))
    store.put(observation("hemoglobin", "Patient/p1", "718-7", 135, "g/L", when="2024-01-01"))
    snomed = observation("snomed", "Patient/p1", "x", 1, "1", when="2024-01-01")
    store.put({**snomed, "code": {"coding": [{"system": SNOMED, "code": "271649006"}]}})
    return store


def test_in_matches_listed_concepts_less_the_excluded_ones(records):
    assert ids("Observation", f"code:in={DIABETES}") == ["glucose", "hba1c"]
    assert ids("Observation", f"code:in={DIABETES}|2") == ["glucose", "hba1c"]
    assert ids("Observation", "code:in=ValueSet/diabetes-labs") == ["glucose", "hba1c"]


def test_in_reads_an_expansion_whole_systems_and_included_value_sets(records):
    assert ids("Observation", "code:in=ValueSet/expanded") == ["hemoglobin"]
    assert ids("Observation", "code:in=ValueSet/all-snomed") == ["glucose", "hba1c", "snomed"]
    assert ids("Observation", "code:in=ValueSet/expanded,ValueSet/diabetes-labs") == ["glucose", "hba1c", "hemoglobin"]


def test_a_concept_excluded_from_a_whole_system_is_not_in_it(records):
    assert ids("Observation", "code:in=ValueSet/loinc-but-2345") == ["glucose", "hba1c", "hemoglobin"]
    assert ids("Observation", "code:not-in=ValueSet/loinc-but-2345") == ["sugar-2345", "snomed"]
    # the same system included whole by another part of the union: nothing is left out
    assert ids("Observation", "code:in=ValueSet/all-loinc-again") == ["glucose", "hba1c", "sugar-2345", "hemoglobin"]
    assert ids("Observation", "code:in=ValueSet/loinc-but-2345,ValueSet/diabetes-labs") == [
        "glucose",
        "hba1c",
        "hemoglobin",
    ]


def test_not_in_is_the_rest(records):
    assert ids("Observation", f"code:not-in={DIABETES}") == ["sugar-2345", "hemoglobin", "snomed"]
    pages = ids("Observation", f"code:not-in={DIABETES}&_count=1")
    assert pages == ["sugar-2345"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("code:in=http://nowhere.example/ValueSet/none", "not-found"),
        (f"code:in={DIABETES}|9", "not-found"),
        ("code:in=ValueSet/by-filter", "not-supported"),
        ("code:above=15074-8", "not-supported"),
    ],
)
def test_a_value_set_that_cannot_be_used_is_a_400_naming_the_parameter(records, query, code):
    with pytest.raises(FhirError) as raised:
        ids("Observation", query)
    assert raised.value.status == 400
    outcome = raised.value.outcome()
    assert outcome["issue"][0]["code"] == code
    assert outcome["issue"][0]["expression"] == [query.split("=")[0]]
