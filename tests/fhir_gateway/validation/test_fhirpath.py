"""The FHIRPath compiler behind the invariants: every R4 constraint compiles but ctm-1 (it needs resolve()),
the hand-compiled ones say what their expressions say, and FHIRPath's semantics hold where they matter."""

from __future__ import annotations

import orjson
import pytest

from fhir_gateway.validation import definitions, fhirpath
from fhir_gateway.validation.invariants import HAND_COMPILED

ENV = {"resource": None, "rootResource": None, "context": None, "ucum": fhirpath.UCUM}


def evaluate(expression: str, node, env: dict | None = None) -> list:
    fn = fhirpath.compile_ast(fhirpath.to_ast(expression), definitions.definitions().choice_bases)
    return fn([node], {**ENV, **(env or {})})


def test_every_r4_invariant_is_compiled_except_the_one_that_resolves_references():
    not_compiled = definitions.definitions().not_compiled
    assert [(i.key, i.context) for i in not_compiled] == [("ctm-1", "CareTeam.participant")]
    assert "resolve()" in not_compiled[0].reason


@pytest.mark.parametrize(
    ("expression", "node", "expected"),
    [
        ("a.exists() and b.exists()", {"a": 1}, [False]),
        ("a and b", {"a": True}, []),  # true and empty is empty
        ("a or b", {"a": False}, []),
        ("a implies b", {"a": False}, [True]),
        ("a xor b", {"a": True, "b": False}, [True]),
        ("start <= end", {"start": "2024-05-01", "end": "2024-05-01T09:00:00+08:00"}, []),  # precision differs
        ("start <= end", {"start": "2024-05-01T10:00:00+08:00", "end": "2024-05-01T02:30:00Z"}, [True]),
        ("start <= end", {"start": "2024-05-02", "end": "2024-05-01"}, [False]),
        ("value.exists()", {"valueQuantity": {"value": 1}}, [True]),  # a choice element by its name
        ("probability is decimal", {"probabilityDecimal": 0.5}, [True]),
        ("probability is decimal", {"probabilityRange": {"low": {"value": 1}}}, [False]),
        ("probability is decimal", {}, []),
        ("name.matches('[A-Z]([A-Za-z0-9_]){0,254}')", {"name": "Valid_Name"}, [True]),
        ("name.matches('[A-Z]([A-Za-z0-9_]){0,254}')", {"name": "not valid"}, [False]),
        ("x.count() + y.count() > 0", {"y": ["a"]}, [True]),
        ("status in ('proposed' | 'cancelled')", {"status": "booked"}, [False]),
        (
            "entry.where(fullUrl.exists()).select(fullUrl).isDistinct()",
            {"entry": [{"fullUrl": "a"}, {"fullUrl": "a"}]},
            [False],
        ),
        ("birthDate.hasValue()", {"_birthDate": {"extension": [{"url": "x", "valueCode": "unknown"}]}}, [False]),
        ("birthDate.exists()", {"_birthDate": {"extension": [{"url": "x", "valueCode": "unknown"}]}}, [True]),
        ("'#' + id", {"id": "p1"}, ["#p1"]),
        ("Appointment.status = 'booked'", {"resourceType": "Appointment", "status": "booked"}, [True]),
        ("value.toString().contains('.')", {"value": 1.5}, [True]),
        ("iif(max != '*', min <= max.toInteger())", {"min": 2, "max": "1"}, [False]),
    ],
)
def test_the_compiled_expression_gives_fhirpaths_answer(expression, node, expected):
    assert evaluate(expression, node) == expected


def test_variables_reach_the_resource_and_its_container():
    resource = {"resourceType": "Observation", "code": {"coding": [{"system": "s", "code": "c"}]}}
    obs7 = "component.code.where(coding.intersect(%resource.code.coding).exists()).empty()"
    node = {**resource, "component": [{"code": {"coding": [{"system": "s", "code": "c"}]}}]}
    assert evaluate(obs7, node, {"resource": node}) == [False]
    assert evaluate("%ucum", {}) == [fhirpath.UCUM]


HAND_CASES = {
    "per-1": [
        {"start": "2024-01-01", "end": "2024-01-02"},
        {"start": "2024-01-02", "end": "2024-01-01"},
        {"start": "2024-01-01", "end": "2024-01-01T10:00:00Z"},
        {"start": "2024-01-01T10:00:00+08:00", "end": "2024-01-01T01:00:00Z"},
        {"start": "2024-01-01T10:00:00+08:00", "end": "2024-01-01T03:00:00Z"},
        {"start": "2024"},
        {"end": "2024"},
        {"start": "2024-03", "end": "2024-02-28"},
    ],
    "ref-1": [
        {"reference": "#a"},
        {"reference": "#b"},
        {"reference": "#"},
        {"reference": "Patient/1"},
        {"display": "x"},
    ],
    "qty-3": [
        {"code": "mg"},
        {"code": "mg", "system": "http://unitsofmeasure.org"},
        {"value": 1},
        {"_code": {"id": "x"}},
    ],
    "cpt-2": [{"value": "1"}, {"value": "1", "system": "phone"}, {"system": "email"}],
    "att-1": [{"data": "aGk="}, {"data": "aGk=", "contentType": "text/plain"}, {"url": "http://x"}],
    "bdl-3": [
        {"type": "batch", "entry": [{"request": {"method": "GET"}}, {"resource": {}}]},
        {"type": "batch", "entry": [{"request": {"method": "GET"}}]},
        {"type": "collection", "entry": [{"request": {"method": "GET"}}]},
        {"type": "collection", "entry": [{"resource": {"resourceType": "Patient"}}]},
        {"entry": [{"resource": {}}]},
        {"entry": []},
    ],
    "bdl-4": [
        {"type": "batch-response", "entry": [{"response": {"status": "200"}}, {"resource": {}}]},
        {"type": "transaction-response", "entry": [{"response": {"status": "200"}}]},
        {"type": "searchset", "entry": [{"response": {"status": "200"}}]},
    ],
    "bdl-5": [{"fullUrl": "urn:x"}, {"request": {"method": "GET"}}, {"resource": {"resourceType": "Patient"}}],
    "bdl-7": [
        {"type": "collection", "entry": [{"fullUrl": "a"}, {"fullUrl": "a"}]},
        {"type": "collection", "entry": [{"fullUrl": "a"}, {"fullUrl": "b"}, {"resource": {}}]},
        {"type": "history", "entry": [{"fullUrl": "a"}, {"fullUrl": "a"}]},
        {"entry": [{"fullUrl": "a"}, {"fullUrl": "a"}]},
        {
            "type": "collection",
            "entry": [
                {"fullUrl": "a", "resource": {"meta": {"versionId": "1"}}},
                {"fullUrl": "a", "resource": {"meta": {"versionId": "2"}}},
            ],
        },
    ],
    "bdl-8": [{"fullUrl": "http://x/Patient/1/_history/2"}, {"fullUrl": "http://x/Patient/1"}, {"resource": {}}],
}


@pytest.mark.parametrize("key", sorted(HAND_COMPILED))
def test_a_hand_compiled_invariant_agrees_with_its_fhirpath(key):
    tree = _tree_of(key)
    compiled = fhirpath.compile_ast(tree, definitions.definitions().choice_bases)
    hand, _names = HAND_COMPILED[key]
    root = {"resourceType": "Observation", "contained": [{"resourceType": "Patient", "id": "a"}]}
    for node in HAND_CASES[key]:
        resource = node if key.startswith("bdl") else root  # %resource of the Bundle rules: the Bundle
        env = {**ENV, "resource": resource, "rootResource": resource}
        assert hand(node, env) == fhirpath.holds(compiled, node, env), (key, node)


def _tree_of(key: str) -> list:
    raw = orjson.loads(definitions.DATA.read_bytes())
    for entry in raw["types"].values():
        for row in entry["c"]:
            if row[0] == key:
                return row[3]
    raise AssertionError(key)


def test_an_expression_with_an_unsupported_function_is_refused_at_compile_time():
    with pytest.raises(fhirpath.Unsupported):
        fhirpath.compile_ast(fhirpath.to_ast("member.resolve().exists()"))


def test_skipping_invariants_whose_elements_are_absent_changes_no_answer(monkeypatch):
    import json
    from pathlib import Path

    from fhir_gateway import validation

    corpus = Path(__file__).resolve().parents[2] / "fixtures" / "validation"
    resources = [
        c["resource"] for f in sorted(corpus.glob("*.json")) for c in json.loads(f.read_text(encoding="utf-8"))
    ]
    from tests.fhir_gateway.synthea import SYNTHEA, synthea_resources

    if SYNTHEA.is_dir():
        resources += synthea_resources()[::20]
    gated = [validation.resource_issues(r) for r in resources]
    invariants = [
        invariant
        for tdef in definitions.definitions().types.values()
        for invariant in tdef.invariants + [i for e in tdef.elements.values() for i in e.invariants]
    ]
    assert sum(1 for i in invariants if i.gate is not None) > 150
    for invariant in invariants:
        monkeypatch.setattr(invariant, "gate", None)
    assert [validation.resource_issues(r) for r in resources] == gated
