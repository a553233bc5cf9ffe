"""The validation corpus (tests/fixtures/validation): each invalid resource gives exactly its expected errors
(rule and location), and each valid one none. ``valid.json`` holds the tricky valid cases."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from fhir_gateway import validation
from fhir_gateway.errors import FhirError
from fhir_gateway.validation.messages import MESSAGE_ID

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "validation"
INVALID = ("structure", "primitives", "bindings", "invariants", "narrative", "bundles")


def _cases(*names: str) -> list:
    cases = []
    for name in names:
        for case in json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8")):
            cases.append(pytest.param(case, id=f"{name}: {case['name']}"))
    return cases


def _rule(issue: dict) -> str:
    return next(e["valueString"] for e in issue["extension"] if e["url"] == MESSAGE_ID)


def _errors(resource: dict) -> Counter:
    issues = validation.resource_issues(resource)
    return Counter((_rule(i), i["expression"][0]) for i in issues if i["severity"] == "error")


@pytest.mark.parametrize("case", _cases(*INVALID))
def test_an_invalid_resource_gives_exactly_its_expected_errors(case):
    expected = Counter(tuple(issue) for issue in case["issues"])
    assert expected, "an invalid case names its issues"
    assert _errors(case["resource"]) == expected
    with pytest.raises(FhirError) as refused:
        validation.resource_check(case["resource"])
    assert refused.value.status == 400
    assert Counter((_rule(i), i["expression"][0]) for i in refused.value.issues) == expected


@pytest.mark.parametrize("case", _cases("valid"))
def test_a_valid_resource_gives_no_error(case):
    assert _errors(case["resource"]) == Counter()
    assert validation.resource_check(case["resource"]) == case["resource"]["resourceType"]


def test_every_issue_has_severity_code_text_and_location():
    for name in INVALID:
        for case in json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8")):
            for issue in validation.resource_issues(case["resource"]):
                assert issue["severity"] in ("error", "warning", "information")
                assert issue["code"] and issue["details"]["text"] and issue["diagnostics"]
                assert issue.get("expression") or issue["severity"] == "information", issue
