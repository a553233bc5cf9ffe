"""``Subscription/<id>/$events``: what a subscriber missed, by event number, for its subscriber only."""

from __future__ import annotations

import json

import pytest

from tests.factories import patient_resource
from tests.federation.subscriptions.conftest import FHIR, heart_rate, subscription_body

pytestmark = pytest.mark.django_db


def _post(client, path, body, headers):
    return client.post(path, json.dumps(body), content_type=FHIR, **headers)


def _numbers(bundle: dict) -> list[int]:
    status = bundle["entry"][0]["resource"]
    return [
        int(part["valueString"])
        for p in status["parameter"]
        if p["name"] == "notification-event"
        for part in p["part"]
        if part["name"] == "event-number"
    ]


@pytest.fixture
def watched(client, county_a, token_of):
    """A websocket Subscription of county A's system to heart rates, full resources, and five events."""
    system_a = token_of(county_a, ["system/*.read", "system/*.write"])
    body = subscription_body("Observation?code=8867-4", channel="websocket", payload="full-resource")
    sub_id = _post(client, "/fhir/Subscription", body, system_a).json()["id"]
    patient = _post(client, "/fhir/Patient", patient_resource(1), system_a).json()["id"]
    observations = [
        _post(client, "/fhir/Observation", heart_rate(f"Patient/{patient}", 70 + i), system_a).json()["id"]
        for i in range(5)
    ]
    return sub_id, system_a, observations


def test_missed_events_are_fetched_again_by_number(client, watched):
    sub_id, system_a, observations = watched
    everything = client.get(f"/fhir/Subscription/{sub_id}/$events", **system_a)
    assert everything.status_code == 200, everything.content
    assert _numbers(everything.json()) == [1, 2, 3, 4, 5]
    assert [e["resource"]["id"] for e in everything.json()["entry"][1:]] == observations

    page = client.get(f"/fhir/Subscription/{sub_id}/$events?eventsSinceNumber=3&eventsUntilNumber=4", **system_a)
    assert _numbers(page.json()) == [3, 4]
    assert _numbers(
        client.get(f"/fhir/Subscription/{sub_id}/$events?eventsSinceNumber=2&_count=2", **system_a).json()
    ) == [2, 3]
    assert _numbers(client.get(f"/fhir/Subscription/{sub_id}/$events?eventsSinceNumber=6", **system_a).json()) == []
    bad = client.get(f"/fhir/Subscription/{sub_id}/$events?eventsSinceNumber=soon", **system_a)
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"


def test_only_the_subscriber_reads_its_events(client, watched, county_a, county_b, token_of):
    sub_id, _system_a, _observations = watched
    colleague = token_of(county_a, ["system/*.read"])  # another system of county A: may read the Subscription
    elsewhere = token_of(county_b, ["system/*.read"])
    assert client.get(f"/fhir/Subscription/{sub_id}/$events", **colleague).status_code == 403
    assert client.get(f"/fhir/Subscription/{sub_id}/$events", **elsewhere).status_code == 404
    assert client.get(f"/fhir/Subscription/{sub_id}/$events").status_code == 401
    assert client.get("/fhir/Subscription/no-such-one/$events", **elsewhere).status_code == 404


def test_events_older_than_thirty_days_are_forgotten(client, watched):
    from datetime import timedelta

    from django.utils import timezone

    from federation.subscriptions.models import SubscriptionEvent
    from federation.subscriptions.services import events_purge

    sub_id, system_a, _observations = watched
    SubscriptionEvent.objects.filter(subscription__fhir_id=sub_id, number__lte=2).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    assert events_purge() == 2
    assert _numbers(client.get(f"/fhir/Subscription/{sub_id}/$events", **system_a).json()) == [3, 4, 5]
