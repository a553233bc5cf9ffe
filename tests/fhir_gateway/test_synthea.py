"""Real R4 data: every resource of the Synthea sample validates and loads through transactions."""

from __future__ import annotations

import pytest

from fhir_gateway import services, validation
from fhir_gateway.models import Resource
from tests.fhir_gateway.synthea import SHARED_DATA, SYNTHEA, synthea_resources, transaction_bundles

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not SYNTHEA.is_dir(), reason="../shared/data/synthea is not present"),
]


def test_all_7160_synthea_resources_validate():
    resources = synthea_resources()
    assert len(resources) == 7160
    for resource in resources:
        validation.resource_check(resource)


@pytest.mark.parametrize("folder", ["10-patients", "1000-patients"])
def test_no_synthea_resource_has_a_single_validation_error(folder):
    path = SHARED_DATA / "synthea" / folder
    if not path.is_dir():
        pytest.skip(f"{path} is not present")
    resources = synthea_resources(path)
    assert len(resources) > 1000
    errors = [
        (resource["resourceType"], resource["id"], issue)
        for resource in resources
        for issue in validation.resource_issues(resource)
        if issue["severity"] in ("error", "fatal")
    ]
    assert errors == []


@pytest.mark.django_db
def test_the_synthea_sample_loads_through_transactions_with_conditional_references(workflow_at_county_a):
    resources = synthea_resources()
    for bundle in transaction_bundles(resources):
        response = services.bundle_process(bundle=bundle, actor=workflow_at_county_a, base_url="http://hub/fhir")
        assert {e["response"]["status"] for e in response["entry"]} == {"201 Created"}
    assert Resource.objects.count() == 7160
    for stored in Resource.objects.iterator():  # the round trip: what was stored validates again
        validation.resource_check(stored.content)
    encounter = Resource.objects.filter(resource_type="Encounter").first().content
    practitioner = encounter["participant"][0]["individual"]["reference"]
    assert practitioner.startswith("Practitioner/") and "?" not in practitioner
