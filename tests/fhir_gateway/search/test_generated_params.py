"""Every search parameter of the alliance's resource types, generated from the R4 definitions.

For each parameter: resources carrying different values at its path are indexed through the
indexer's contract (``index_write``), a value taken from one of them is searched, and the matches
are compared with an independent evaluation: fhirpathpy evaluates the definition's expression over
the same JSON and plain Python decides the match. ``:missing`` is checked the same way.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

import pytest

from fhir_gateway.search.definitions import params_for
from tests.fhir_gateway.search.conftest import ids, index_documents
from tests.fhir_gateway.search.generated import (
    LISTED,
    composite_pairs,
    first_value,
    oracle_match,
    oracle_nodes,
    resources,
)

pytestmark = pytest.mark.django_db
CASES = [
    (resource_type, code)
    for resource_type in LISTED
    for code, param in params_for(resource_type).items()
    if param.paths and code not in ("_id", "_lastUpdated")
]


def _found(resource_type: str, params: list[tuple[str, str]]) -> set[str]:
    return set(ids(resource_type, urlencode([*params, ("_count", "100")]), strict=True))


def test_every_listed_type_has_its_parameters_from_the_definitions():
    assert len(CASES) > 400
    assert {resource_type for resource_type, _ in CASES} == set(LISTED)


@pytest.mark.parametrize(("resource_type", "code"), CASES, ids=[f"{t}-{c}" for t, c in CASES])
def test_a_parameter_finds_what_an_independent_evaluation_finds(resource_type, code):
    param = params_for(resource_type)[code]
    documents = resources(resource_type, param)
    index_documents(documents)

    if param.type == "composite":
        pairs = {doc["id"]: composite_pairs(param, doc) for doc in documents}
        first, second = param.components
        one, two = pairs[f"{resource_type.lower()}-1"][0]
        value = f"{first_value(first.type, one)}${first_value(second.type, two)}"
        expected = {
            doc_id
            for doc_id, found in pairs.items()
            if any(
                oracle_match(first.type, value.split("$")[0], a) and oracle_match(second.type, value.split("$")[1], b)
                for a, b in found
            )
        }
        missing = {doc_id for doc_id, found in pairs.items() if not found}
    elif param.type == "special":  # Location near: latitude|longitude|distance|unit
        value = "31|121|20|km"
        positions = {doc["id"]: doc.get("position") for doc in documents}
        expected = {
            doc_id
            for doc_id, where in positions.items()
            if where and math.dist((where["latitude"], where["longitude"]), (31, 121)) * 111 < 20
        }
        missing = {doc_id for doc_id, where in positions.items() if not where}
    else:
        nodes = {doc["id"]: oracle_nodes(param, doc) for doc in documents}
        candidates = [first_value(param.type, node) for node in nodes[f"{resource_type.lower()}-1"]]
        value = next((candidate for candidate in candidates if candidate is not None), None)
        assert value is not None, f"the generator put no searchable value at {param.expression}"
        expected = {
            doc_id for doc_id, found in nodes.items() if any(oracle_match(param.type, value, node) for node in found)
        }
        missing = {doc_id for doc_id, found in nodes.items() if not found}

    assert f"{resource_type.lower()}-1" in expected
    assert _found(resource_type, [(code, value)]) == expected
    assert _found(resource_type, [(f"{code}:missing", "true")]) == missing
    assert _found(resource_type, [(f"{code}:missing", "false")]) == {doc["id"] for doc in documents} - missing
