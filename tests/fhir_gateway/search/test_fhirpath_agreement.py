"""The compiled extractors select exactly what fhirpathpy selects for every parameter's expression."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from fhir_gateway.search import fhirpath
from fhir_gateway.search.definitions import params_for
from tests.fhir_gateway.search.generated import LISTED, oracle_nodes, resources
from tests.fhir_gateway.synthea import SYNTHEA


def _canonical(values) -> set[str]:
    return {
        json.dumps(value, sort_keys=True, default=lambda v: float(v) if isinstance(v, Decimal) else str(v))
        for value in values
    }


def _disagreements(resource: dict, only: str | None = None) -> list[str]:
    out = []
    for code, param in params_for(resource["resourceType"]).items():
        if not param.expression or code in ("_id", "_lastUpdated") or (only and code != only):
            continue
        ours = _canonical(node.value for node in fhirpath.evaluate(list(param.paths), resource))
        theirs = _canonical(oracle_nodes(param, resource))
        if ours != theirs:
            out.append(f"{resource['resourceType']}/{resource.get('id')} {code}: {ours} != {theirs}")
    return out


def test_the_compiled_paths_agree_with_fhirpathpy_on_generated_resources():
    problems = []
    for resource_type in LISTED:
        for param in params_for(resource_type).values():
            if param.expression:
                for resource in resources(resource_type, param):
                    problems += _disagreements(resource, only=param.code)
    assert problems == []


@pytest.mark.shared_data
@pytest.mark.skipif(not SYNTHEA.exists(), reason="../shared/data is absent")
def test_the_compiled_paths_agree_with_fhirpathpy_on_the_synthea_sample():
    problems = []
    for path in sorted(SYNTHEA.glob("[A-Z]*.ndjson")):
        for line in path.read_text().splitlines()[:25]:
            problems += _disagreements(json.loads(line))
    assert problems == []


def test_choice_elements_and_filters_compile_to_direct_lookups():
    compiled = fhirpath.compile_expression(
        "(Observation.value as Quantity) | Observation.subject.where(resolve() is Patient)"
    )

    assert compiled[0].steps == (("choice", "value", ("Quantity",)),)
    assert compiled[1].steps == (("field", "subject"), ("resolve_is", "Patient"))
    with pytest.raises(fhirpath.UnsupportedExpression):
        fhirpath.compile_expression("Patient.name.select(given)")
