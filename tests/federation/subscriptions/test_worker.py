"""Rest-hook notifications as in production: the outbox hands them to a real Celery worker over Redis."""

from __future__ import annotations

import json
import time

import pytest

from tests.factories import patient_resource
from tests.federation.subscriptions.conftest import FHIR, heart_rate, subscription_body

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def test_a_worker_delivers_the_handshake_and_every_event_once_in_order(
    celery_worker_on_redis, client, county_a, token_of, receiver
):
    system_a = token_of(county_a, ["system/*.read", "system/*.write"])
    body = subscription_body("Observation?code=8867-4", endpoint=receiver.url, payload="id-only")
    sub_id = client.post("/fhir/Subscription", json.dumps(body), content_type=FHIR, **system_a).json()["id"]
    assert _wait(lambda: client.get(f"/fhir/Subscription/{sub_id}", **system_a).json()["status"] == "active")

    patient = client.post("/fhir/Patient", json.dumps(patient_resource(1)), content_type=FHIR, **system_a).json()
    for value in (60, 70, 80):
        observation = heart_rate(f"Patient/{patient['id']}", value)
        stored = client.post("/fhir/Observation", json.dumps(observation), content_type=FHIR, **system_a)
        assert stored.status_code == 201

    assert _wait(lambda: len(receiver.numbers(sub_id)) >= 4)
    time.sleep(0.5)  # nothing more arrives
    assert receiver.numbers(sub_id) == [0, 1, 2, 3]
