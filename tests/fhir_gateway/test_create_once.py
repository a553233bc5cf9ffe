"""``services.resources_create_once``: many conditional creates in one transaction (the room's chat as
Communications), each created once whatever the retries, a refused item refusing them all."""

from __future__ import annotations

import pytest

from fhir_gateway import services
from fhir_gateway.context import INTERNAL_ACTOR
from fhir_gateway.errors import FhirError
from fhir_gateway.models import Resource

pytestmark = pytest.mark.django_db
SYSTEM = "urn:test:message"


def _item(n: int, text: str = "ok", owner: str = "county-a") -> services.CreateOnce:
    resource = {
        "resourceType": "Communication",
        "status": "completed",
        "identifier": [{"system": SYSTEM, "value": str(n)}],
        "payload": [{"contentString": text}],
    }
    return services.CreateOnce(resource=resource, criteria=f"identifier={SYSTEM}|{n}", owner=owner)


def test_each_is_created_once_in_one_call_and_a_retry_finds_the_same():
    first = services.resources_create_once(items=[_item(n) for n in range(5)], actor=INTERNAL_ACTOR)
    assert len(set(first)) == 5 and all(r.startswith("Communication/") for r in first)
    stored = Resource.objects.filter(resource_type="Communication")
    assert stored.count() == 5 and set(stored.values_list("owner", flat=True)) == {"county-a"}
    # A retry (with two new ones, and one twice in the same call) writes only what is new.
    again = services.resources_create_once(items=[_item(n) for n in (0, 1, 2, 3, 4, 5, 5, 6)], actor=INTERNAL_ACTOR)
    assert again[:5] == first and again[5] == again[6] and again[7] not in again[:7]
    assert stored.count() == 7


def test_a_refused_item_refuses_the_call_naming_its_position_and_nothing_is_stored():
    items = [_item(1), _item(2, text=""), _item(3)]  # an empty string is not a FHIR string
    with pytest.raises(FhirError) as caught:
        services.resources_create_once(items=items, actor=INTERNAL_ACTOR)
    assert caught.value.position == 1 and 400 <= caught.value.status < 500
    not_a_type = services.CreateOnce(resource={"resourceType": "Nothing"}, criteria="identifier=x|y")
    with pytest.raises(FhirError) as caught:
        services.resources_create_once(items=[_item(1), not_a_type], actor=INTERNAL_ACTOR)
    assert caught.value.position == 1
    assert not Resource.objects.filter(resource_type="Communication").exists()


def test_criteria_matching_two_resources_refuse_the_call():
    services.resources_create_once(items=[_item(1)], actor=INTERNAL_ACTOR)
    twin = {**_item(9).resource, "identifier": [{"system": SYSTEM, "value": "1"}]}
    services.resource_create(resource=twin, actor=INTERNAL_ACTOR, owner="county-a")
    with pytest.raises(FhirError) as caught:
        services.resources_create_once(items=[_item(0), _item(1)], actor=INTERNAL_ACTOR)
    assert caught.value.position == 1 and caught.value.status == 412
    assert Resource.objects.filter(resource_type="Communication").count() == 2
