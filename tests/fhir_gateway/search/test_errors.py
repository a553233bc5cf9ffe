"""Bad search input is a 400 naming the parameter, never a 500; unknown parameters follow ``Prefer: handling``."""

from __future__ import annotations

import pytest

from fhir_gateway.errors import FhirError
from fhir_gateway.search import engine
from tests.fhir_gateway.search.conftest import ids, search
from tests.fhir_gateway.search.samples import patient


@pytest.mark.parametrize(
    ("resource_type", "query", "parameter"),
    [
        ("Patient", "birthdate=2020-13", "birthdate"),
        ("Patient", "birthdate=2020-02-30", "birthdate"),
        ("Patient", "birthdate=xx2020", "birthdate"),
        ("Patient", "birthdate=yesterday", "birthdate"),
        ("Observation", "value-quantity=|http://unitsofmeasure.org|mg", "value-quantity"),
        ("Observation", "value-quantity=abc", "value-quantity"),
        ("Observation", "value-quantity=1|2", "value-quantity"),
        ("Observation", "code-value-quantity=http://loinc.org|1", "code-value-quantity"),
        ("Observation", "code.text=x", "code.text"),
        ("Patient", "_count=-1", "_count"),
        ("Patient", "_count=ten", "_count"),
        ("Patient", "_total=all", "_total"),
        ("Patient", "_summary=maybe", "_summary"),
        ("Patient", "gender:missing=perhaps", "gender:missing"),
        ("Patient", "name:sounds-like=wang", "name:sounds-like"),
        ("Patient", "_include=Patient:name", "_include"),
        ("Patient", "_include=Observation:subject", "_include"),
        ("Patient", "_cursor=not-a-cursor", "_cursor"),
        ("Patient", "_sort=name:exact", "_sort"),
        ("Location", "near=north|south", "near"),
        ("Patient", "_lastUpdated=2024-99", "_lastUpdated"),
        ("Patient", "_id:exact=p1", "_id:exact"),
        ("Patient", "_has:Observation:patient=x", "_has:Observation:patient"),
    ],
)
def test_a_malformed_value_is_a_400_naming_the_parameter(store, resource_type, query, parameter):
    with pytest.raises(FhirError) as raised:
        search(resource_type, query)
    assert raised.value.status == 400
    assert raised.value.issues[0]["expression"] == [parameter]
    assert raised.value.issues[0]["code"] in ("invalid", "not-supported")


def test_unknown_parameters_are_ignored_and_left_out_unless_strict(store):
    store.put(patient("p1", "王", "芳"))

    bundle = search("Patient", "colour=blue&family=王")
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["p1"]
    assert "colour" not in bundle["link"][0]["url"]
    with pytest.raises(FhirError) as raised:
        search("Patient", "colour=blue&family=王", strict=True)
    assert raised.value.status == 400 and raised.value.issues[0]["expression"] == ["colour"]


def test_empty_values_are_ignored(store):
    store.put(patient("p1", "王", "芳"))
    assert ids("Patient", "family=&gender=") == ["p1"]


def test_conditional_matching_accepts_any_search(store):
    store.put(patient("p1", "王", "芳", birth="1970-01-01"))
    store.put(patient("p2", "王", "伟", birth="1980-01-01"))

    found = engine.match_pks(resource_type="Patient", params=[("family", "王"), ("birthdate", "lt1975")], actor=None)
    assert len(found) == 1
    assert len(engine.match_pks(resource_type="Patient", params=[("family", "王")], actor=None)) == 2
    with pytest.raises(FhirError):
        engine.match_pks(resource_type="Patient", params=[("nonsense", "1")], actor=None)


def test_supported_parameters_describe_each_type():
    names = {item["name"]: item for item in engine.supported_parameters("Observation")}
    assert {"code", "patient", "date", "value-quantity", "code-value-quantity", "_id", "_lastUpdated"} <= set(names)
    assert names["code"]["type"] == "token"
    assert names["code"]["definition"].startswith("http://hl7.org/fhir/SearchParameter/")
    assert {item["name"] for item in engine.supported_parameters("Basic")} >= {"_id", "_lastUpdated", "_tag"}
