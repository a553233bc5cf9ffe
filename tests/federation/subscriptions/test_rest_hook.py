"""Rest-hook Subscriptions over HTTP: handshake, matching, payloads, scoping, retries, replay."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from federation.outbox.services import outbox_sweep
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


@pytest.fixture
def active_hook(client, system_a, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = _post(client, "/fhir/Subscription", subscription_body(HEART_RATE, endpoint=receiver.url), system_a)
    assert created.status_code == 201 and receiver.numbers(created.json()["id"]) == [0]
    return created.json()["id"]


def _heart_rates(client, headers, capture, n):
    patient_id = _patient(client, headers)
    with capture(execute=True):
        return [
            _post(client, "/fhir/Observation", heart_rate(f"Patient/{patient_id}", 60 + i), headers).json()["id"]
            for i in range(n)
        ]


def _make_due():
    from federation.outbox.models import OutboxMessage

    OutboxMessage.objects.filter(state="pending").update(next_attempt_at=timezone.now())


def test_a_receiver_down_then_up_gets_every_event_in_order_and_none_twice(
    client, system_a, receiver, active_hook, django_capture_on_commit_callbacks
):
    receiver.status = 503
    _heart_rates(client, system_a, django_capture_on_commit_callbacks, 3)
    assert receiver.numbers(active_hook) == [0]
    _make_due()
    outbox_sweep()  # still down: retried later, nothing lost
    assert receiver.numbers(active_hook) == [0]

    receiver.status = 200
    _make_due()
    outbox_sweep()
    _heart_rates(client, system_a, django_capture_on_commit_callbacks, 1)
    outbox_sweep()  # nothing left to send again

    assert receiver.numbers(active_hook) == [0, 1, 2, 3, 4]
    event_ids = [r["headers"]["idempotency-key"] for r in receiver.received]
    assert len(set(event_ids)) == len(event_ids)
    assert Subscription.objects.get(fhir_id=active_hook).status == "active"


def test_a_receiver_down_past_the_retry_window_puts_the_subscription_in_error_and_events_wait(
    client, system_a, receiver, active_hook, django_capture_on_commit_callbacks
):
    from federation.outbox.models import Breaker, OutboxMessage

    receiver.status = 503
    _heart_rates(client, system_a, django_capture_on_commit_callbacks, 2)
    OutboxMessage.objects.filter(state="pending").update(
        retry_from=timezone.now() - timedelta(hours=49), next_attempt_at=timezone.now()
    )
    outbox_sweep()

    stored = client.get(f"/fhir/Subscription/{active_hook}", **system_a).json()
    assert stored["status"] == "error" and "503" in stored["error"]
    assert Subscription.objects.get(fhir_id=active_hook).status == "error"

    # Back up: what it missed is there to fetch, numbered as before.
    receiver.status = 200
    _make_due()
    outbox_sweep()
    assert receiver.numbers(active_hook) == [0]  # nothing pushed to a subscription in error
    missed = client.get(f"/fhir/Subscription/{active_hook}/$events?eventsSinceNumber=1", **system_a).json()
    numbers = [
        part["valueString"]
        for p in missed["entry"][0]["resource"]["parameter"]
        if p["name"] == "notification-event"
        for part in p["part"]
        if part["name"] == "event-number"
    ]
    assert numbers == ["1", "2"]

    # The subscriber asks for it again: a new handshake, then new events are pushed, numbered on.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.put(
            f"/fhir/Subscription/{active_hook}",
            json.dumps(stored | {"status": "requested"}),
            content_type=FHIR,
            **system_a,
        )
    assert again.status_code == 200, again.content
    Breaker.objects.update(open_until=timezone.now())  # the receiver's breaker is due for its probe
    _make_due()
    outbox_sweep()
    assert client.get(f"/fhir/Subscription/{active_hook}", **system_a).json()["status"] == "active"
    _heart_rates(client, system_a, django_capture_on_commit_callbacks, 1)
    assert receiver.numbers(active_hook) == [0, 0, 3]


def test_channel_header_values_reach_the_endpoint_but_are_never_shown(
    client, system_a, receiver, django_capture_on_commit_callbacks, county_a, token_of
):
    body = subscription_body(HEART_RATE, endpoint=receiver.url)
    body["channel"]["header"] = ["Authorization: Bearer s3cret-of-the-subscriber", "X-Feed: vitals"]
    with django_capture_on_commit_callbacks(execute=True):
        created = _post(client, "/fhir/Subscription", body, system_a)
    assert created.status_code == 201, created.content
    sub_id = created.json()["id"]
    assert receiver.received[-1]["headers"]["authorization"] == "Bearer s3cret-of-the-subscriber"
    assert receiver.received[-1]["headers"]["x-feed"] == "vitals"

    colleague = token_of(county_a, ["system/*.read"])  # another system of the same site
    shown = [
        created.content,
        client.get(f"/fhir/Subscription/{sub_id}", **system_a).content,
        client.get(f"/fhir/Subscription/{sub_id}", **colleague).content,
        client.get("/fhir/Subscription", **colleague).content,
        client.get(f"/fhir/Subscription/{sub_id}/_history", **system_a).content,
    ]
    for content in shown:
        assert b"s3cret" not in content and b"vitals" not in content
    masked = client.get(f"/fhir/Subscription/{sub_id}", **colleague).json()["channel"]["header"]
    assert [line.split(": ")[0] for line in masked] == ["Authorization", "X-Feed"]
    assert all(line.split(": ")[1].startswith("******") for line in masked)

    # The subscriber writes back what it read (masked) with one value changed: the hub keeps the secret it holds.
    read = client.get(f"/fhir/Subscription/{sub_id}", **system_a).json()
    read["channel"]["header"] = [masked[0], "X-Feed: labs"]
    read["reason"] = "renamed"
    with django_capture_on_commit_callbacks(execute=True):
        updated = client.put(f"/fhir/Subscription/{sub_id}", json.dumps(read), content_type=FHIR, **system_a)
    assert updated.status_code == 200, updated.content
    assert Subscription.objects.get(fhir_id=sub_id).headers == [
        "Authorization: Bearer s3cret-of-the-subscriber",
        "X-Feed: labs",
    ]
    _heart_rates(client, system_a, django_capture_on_commit_callbacks, 1)
    assert receiver.received[-1]["headers"]["authorization"] == "Bearer s3cret-of-the-subscriber"
    assert receiver.received[-1]["headers"]["x-feed"] == "labs"


def test_deleting_a_resource_the_subscriber_was_told_of_is_told_too(
    client, system_a, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        body = subscription_body(HEART_RATE, endpoint=receiver.url, payload="id-only")
        hook = _post(client, "/fhir/Subscription", body, system_a).json()["id"]
    told, _other = _heart_rates(client, system_a, django_capture_on_commit_callbacks, 2)
    unrelated = _post(client, "/fhir/Observation", heart_rate("Patient/x") | {"code": {"text": "other"}}, system_a)
    assert receiver.numbers(hook) == [0, 1, 2]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/fhir/Observation/{told}", **system_a).status_code in (200, 204)
        # a resource the subscription never matched: its deletion is nobody's business here
        assert client.delete(f"/fhir/Observation/{unrelated.json()['id']}", **system_a).status_code in (200, 204)

    assert receiver.numbers(hook) == [0, 1, 2, 3]
    entry = receiver.received[-1]["body"]["entry"][1]
    assert entry["request"] == {"method": "DELETE", "url": f"Observation/{told}"}
    assert "resource" not in entry
    events = client.get(f"/fhir/Subscription/{hook}/$events?eventsSinceNumber=3&eventsUntilNumber=3", **system_a)
    assert events.json()["entry"][1]["request"]["method"] == "DELETE"
