"""Gateway actors and sample resources (the gateway knows no hub users: actors are plain values)."""

from __future__ import annotations

import pytest

from fhir_gateway.context import SYSTEM, Actor


@pytest.fixture
def county_a_his() -> Actor:
    """County A's hospital information system (a site system: the hub's user policies do not apply)."""
    return Actor(kind=SYSTEM, id="county-a-his", display="东川县 HIS", site="county-a")


@pytest.fixture
def county_b_system() -> Actor:
    return Actor(kind=SYSTEM, id="county-b-his", display="西河县 HIS", site="county-b")


def patient(mrn: str = "A001", family: str = "王", given: str = "芳", **extra) -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:alliance:site:county-a:mrn", "value": mrn}],
        "name": [{"family": family, "given": [given]}],
        "gender": "female",
        "birthDate": "1968-03-02",
        **extra,
    }
