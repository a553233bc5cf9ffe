"""Whatever a client sends to any parameter, the answer is a result or a 400 (never an unexpected error)."""

from __future__ import annotations

import pytest

from fhir_gateway.context import INTERNAL_ACTOR
from fhir_gateway.errors import FhirError
from fhir_gateway.search import engine
from fhir_gateway.search.definitions import params_for
from tests.fhir_gateway.search.generated import LISTED

ODD_VALUES = [
    "x",
    "ge",
    "2020-13",
    "|",
    "||",
    "a|b|c|d",
    "$",
    "a$b$c",
    "Patient/",
    "http://",
    "-1",
    "1e400",
    "ap1e-9",
    "王",
    "%_\\",
    "\x00",
    "eq",
    "1|",
    ",,,",
    "null",
]
ODD_MODIFIERS = ["", ":missing", ":exact", ":not", ":text", ":below", ":above", ":identifier", ":Patient", ":nope"]


@pytest.mark.parametrize("resource_type", LISTED)
def test_odd_values_and_modifiers_never_break_a_search(db, resource_type):
    for code in params_for(resource_type):
        for index, value in enumerate(ODD_VALUES):
            modifier = ODD_MODIFIERS[index % len(ODD_MODIFIERS)]
            try:
                engine.search(
                    resource_type=resource_type,
                    params=[(code + modifier, value)],
                    actor=INTERNAL_ACTOR,
                    base_url="http://testserver/fhir",
                )
            except FhirError as error:
                assert error.status == 400, (code, modifier, value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("_sort", "-"),
        ("_sort", ",,"),
        ("_sort", "-_lastUpdated,-name"),
        ("_count", "1e3"),
        ("_count", "99999"),
        ("_include", "*:*"),
        ("_include", "Patient:*"),
        ("_revinclude", "*"),
        ("_include:iterate", "a:b:c:d"),
        ("_elements", ",,"),
        ("_summary", ""),
        ("_total", ""),
        ("_cursor", "e30"),
        ("_cursor", "eyJ2IjpbXX0"),
        ("_cursor", "eyJ2IjogWyJhYmMiXSwgImIiOiBmYWxzZX0"),
        ("_cursor", "eyJ2IjogW3RydWVdLCAiYiI6IGZhbHNlfQ"),
        ("_has", "x"),
        ("_has:Patient:link:_has:Patient:link:name", "x"),
        ("general-practitioner.name.x", "y"),
        ("organization:Organization.partof.partof.name", "x"),
        ("_type", "Patient"),
        ("_id", "\u738b"),
        ("birthdate", "ge9999-12-31T23:59:59Z"),
        ("birthdate", "ap0001"),
        ("birthdate", "ge2025&birthdate=lt2020"),
        ("_lastUpdated", "ap9999"),
    ],
)
def test_odd_result_parameters_never_break_a_search(db, name, value):
    try:
        engine.search(
            resource_type="Patient", params=[(name, value)], actor=INTERNAL_ACTOR, base_url="http://testserver/fhir"
        )
    except FhirError as error:
        assert error.status == 400


@pytest.mark.parametrize(
    ("resource_type", "name", "value"),
    [
        ("Observation", "value-quantity", "1e400"),
        ("Observation", "value-quantity", "gt1e-400"),
        ("Observation", "code-value-quantity", "http://loinc.org|1$1e400"),
        ("Location", "near", "1e400|1|1"),
        ("Location", "near", "nan|1|1"),
        ("RiskAssessment", "probability", "ap1e308"),
    ],
)
def test_numbers_out_of_range_never_break_a_search(db, resource_type, name, value):
    try:
        engine.search(
            resource_type=resource_type, params=[(name, value)], actor=INTERNAL_ACTOR, base_url="http://testserver/fhir"
        )
    except FhirError as error:
        assert error.status == 400


def test_a_resource_with_huge_values_is_stored_and_found(store):
    from tests.fhir_gateway.search.conftest import ids

    huge = "长" * 3000
    store.put(
        {
            "resourceType": "Patient",
            "id": "huge",
            "identifier": [{"system": "urn:x:" + "s" * 3000, "value": huge}],
            "name": [{"family": huge}],
            "managingOrganization": {"reference": "http://example.org/" + "o" * 3000 + "/Organization/1"},
            "meta": {"profile": ["http://example.org/" + "p" * 3000]},
        }
    )
    assert ids("Patient", "family=长长长") == ["huge"]


def test_values_at_the_edges_never_fail_a_write(db):
    from tests.fhir_gateway.search.conftest import ids, index_documents

    odd = [
        {
            "resourceType": "Patient",
            "id": "late",
            "birthDate": "9999-12-31",
            "deceasedDateTime": "9999-12-31T23:59:59Z",
        },
        {"resourceType": "Patient", "id": "nonsense", "birthDate": "2024-02-30"},
        {
            "resourceType": "Observation",
            "id": "huge",
            "valueQuantity": {"value": 10**400},
            "component": [{"code": {"text": "x"}, "valueQuantity": {"value": -(10**400)}}],
            "effectivePeriod": {"start": "2024-05-02", "end": "2024-05-01"},
        },
        {"resourceType": "Location", "id": "nowhere", "position": {"latitude": "north", "longitude": 10**400}},
    ]
    index_documents(odd)

    assert ids("Patient", "birthdate=9999") == ["late"]
    assert ids("Patient", "birthdate:missing=true") == ["nonsense"]
    assert ids("Observation", "date=2024-05-02") == ["huge"]  # an end before the start is read as the start
