"""Rest-hook Subscriptions over HTTP: handshake, matching, payloads, scoping, retries, replay."""

from __future__ import annotations

import json

import pytest

from federation.subscriptions.models import Subscription
from tests.factories import patient_resource
from tests.federation.subscriptions.conftest import FHIR, heart_rate, subscription_body

pytestmark = pytest.mark.django_db
LOINC = "http://loinc.org"
HEART_RATE = f"Observation?code={LOINC}|8867-4"


def _post(client, path, body, headers):
    return client.post(path, json.dumps(body), content_type=FHIR, **headers)


@pytest.fixture
def system_a(county_a, token_of):
    return token_of(county_a, ["system/*.read", "system/*.write"])


def _patient(client, headers, seed=1):
    response = _post(client, "/fhir/Patient", patient_resource(seed), headers)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_a_rest_hook_is_activated_by_its_handshake_and_notified_of_matches(
    client, system_a, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = _post(
            client,
            "/fhir/Subscription",
            subscription_body(HEART_RATE, endpoint=receiver.url, payload="full-resource"),
            system_a,
        )
    assert created.status_code == 201, created.content
    sub_id = created.json()["id"]
    assert receiver.numbers(sub_id) == [0]
    assert receiver.received[0]["body"]["entry"][0]["resource"]["parameter"][2]["valueCode"] == "handshake"
    assert client.get(f"/fhir/Subscription/{sub_id}", **system_a).json()["status"] == "active"

    patient_id = _patient(client, system_a)
    with django_capture_on_commit_callbacks(execute=True):
        observation = _post(client, "/fhir/Observation", heart_rate(f"Patient/{patient_id}"), system_a).json()
        other = heart_rate(f"Patient/{patient_id}") | {"code": {"coding": [{"system": LOINC, "code": "1"}]}}
        _post(client, "/fhir/Observation", other, system_a)

    assert receiver.numbers(sub_id) == [0, 1]
    notification = receiver.received[-1]["body"]
    assert notification["type"] == "history"
    assert notification["entry"][1]["resource"]["id"] == observation["id"]
    assert Subscription.objects.get(fhir_id=sub_id).events_count == 1
