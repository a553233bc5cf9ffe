"""Chained parameters (any depth) and reverse chaining with ``_has`` (http://hl7.org/fhir/R4/search.html#chaining)."""

from __future__ import annotations

import pytest

from fhir_gateway.errors import FhirError
from tests.fhir_gateway.search.conftest import ids
from tests.fhir_gateway.search.samples import LOINC, MRN, condition, encounter, observation, patient


@pytest.fixture
def records(store):
    store.put({"resourceType": "Organization", "id": "county-a-hospital", "name": "东川县人民医院"})
    store.put({"resourceType": "Organization", "id": "county-b-hospital", "name": "西河县人民医院"})
    store.put(patient("wang", "王", "芳", managingOrganization={"reference": "Organization/county-a-hospital"}))
    store.put(patient("zhao", "赵", "敏", managingOrganization={"reference": "Organization/county-b-hospital"}))
    store.put(
        encounter("e1", "Patient/wang", "2024-05-01", serviceProvider={"reference": "Organization/county-a-hospital"})
    )
    store.put(
        observation(
            "o1", "Patient/wang", "15074-8", 7.2, "mmol/L", when="2024-05-01", encounter={"reference": "Encounter/e1"}
        )
    )
    store.put(observation("o2", "Patient/zhao", "15074-8", 5.0, "mmol/L", when="2024-05-02"))
    store.put(condition("c1", "Patient/zhao", "44054006"))
    return store


def test_a_chain_with_and_without_the_target_type(records):
    assert ids("Observation", f"subject:Patient.identifier={MRN}|MRN-wang") == ["o1"]
    assert ids("Observation", "subject.name=赵") == ["o2"]
    assert ids("Observation", "patient.name=zhao,wang") == ["o1", "o2"]


def test_a_chain_of_several_links(records):
    assert ids("Observation", "subject:Patient.organization.name=西河") == ["o2"]
    assert ids("Observation", "encounter.service-provider.name=东川") == ["o1"]
    assert ids("Observation", "encounter.subject:Patient.organization.name=东川") == ["o1"]


def test_reverse_chaining_and_nested_has(records):
    assert ids("Patient", "_has:Observation:patient:code=15074-8") == ["wang", "zhao"]
    assert ids("Patient", "_has:Condition:subject:code=http://snomed.info/sct|44054006") == ["zhao"]
    assert ids("Patient", "_has:Observation:patient:value-quantity=gt7") == ["wang"]
    assert ids("Patient", f"_has:Encounter:patient:_has:Observation:encounter:code={LOINC}|15074-8") == ["wang"]
    assert ids("Organization", "_has:Patient:organization:_has:Condition:subject:code=44054006") == [
        "county-b-hospital"
    ]


def test_has_criteria_on_the_referring_resources_own_row_or_its_index_rows_alone(records):
    """``_id`` and ``_lastUpdated`` read the referring resource's own row; ``code`` only its index rows."""
    assert ids("Patient", "_has:Observation:patient:_id=o2") == ["zhao"]
    assert ids("Patient", "_has:Observation:patient:_lastUpdated=gt2000-01-01") == ["wang", "zhao"]
    assert ids("Patient", "_has:Observation:patient:code:missing=true") == []
    assert ids("Patient", "_has:Observation:patient:code:not=15074-8") == []
    records.delete("Observation", "o2")
    assert ids("Patient", "_has:Observation:patient:code=15074-8") == ["wang"]


def test_a_chain_and_has_combine_with_other_criteria(records):
    assert ids("Observation", "subject.name=王&value-quantity=lt6") == []
    assert ids("Patient", "_has:Observation:patient:code=15074-8&name=赵") == ["zhao"]


@pytest.mark.parametrize(
    "query",
    [
        "code.name=x",  # code is a token: no chain
        "subject:Patient.nope=x",
        "subject:Medication.code=x",  # not a target of subject
        "_has:Observation:code:status=final",  # code is not a reference
        "_has:Nothing:patient:code=x",
        "_has:Observation=x",
    ],
)
def test_a_bad_chain_is_a_400_naming_the_parameter(records, query):
    with pytest.raises(FhirError) as raised:
        ids("Observation" if not query.startswith("_has") else "Patient", query)
    assert raised.value.status == 400
    assert raised.value.issues[0]["expression"] == [query.split("=")[0]]
