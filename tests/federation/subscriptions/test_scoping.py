"""A subscriber receives only what it may read, now as when it subscribed; the criteria are its own search."""

from __future__ import annotations

import json

import pytest

from federation.auth.models import SiteClient
from federation.subscriptions.models import Subscription
from tests.factories import patient_resource
from tests.federation.subscriptions.conftest import FHIR, heart_rate, subscription_body

pytestmark = pytest.mark.django_db


def _post(client, path, body, headers):
    return client.post(path, json.dumps(body), content_type=FHIR, **headers)


def _subscribe(client, headers, criteria, **kwargs):
    return _post(client, "/fhir/Subscription", subscription_body(criteria, **kwargs), headers)


def _heart_rate_at(client, headers, seed):
    patient = _post(client, "/fhir/Patient", patient_resource(seed), headers).json()["id"]
    return _post(client, "/fhir/Observation", heart_rate(f"Patient/{patient}"), headers).json()["id"]


def test_a_site_system_is_notified_of_its_own_sites_records_only(
    client, county_a, county_b, token_of, receiver, django_capture_on_commit_callbacks
):
    system_a = token_of(county_a, ["system/*.read", "system/*.write"])
    system_b = token_of(county_b, ["system/*.read", "system/*.write"])
    with django_capture_on_commit_callbacks(execute=True):
        sub_id = _subscribe(client, system_a, "Observation", endpoint=receiver.url, payload="id-only").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):  # active once its handshake was answered
        theirs = _heart_rate_at(client, system_b, 2)
        mine = _heart_rate_at(client, system_a, 1)

    assert receiver.numbers(sub_id) == [0, 1]
    urls = [e["fullUrl"] for e in receiver.received[-1]["body"]["entry"][1:]]
    assert [u.rsplit("/", 2)[-2:] for u in urls] == [["Observation", mine]]
    assert theirs not in json.dumps(receiver.received)


def test_a_system_cannot_subscribe_to_what_its_scopes_do_not_let_it_read(client, county_a, token_of, receiver):
    narrow = token_of(county_a, ["system/Patient.read", "system/Subscription.write", "system/Subscription.read"])
    refused = _subscribe(client, narrow, "Observation?code=8867-4", endpoint=receiver.url)
    assert refused.status_code == 403
    assert _subscribe(client, narrow, "Patient?gender=female", endpoint=receiver.url).status_code == 201
    assert not Subscription.objects.filter(resource_type="Observation").exists()


def test_bad_criteria_or_channels_are_refused_and_nothing_is_stored(client, county_a, token_of, receiver):
    system_a = token_of(county_a, ["system/*.read", "system/*.write"])
    for body in (
        subscription_body("Observation?no-such-parameter=1", endpoint=receiver.url),
        subscription_body("observation", endpoint=receiver.url),
        subscription_body("Observation", endpoint="ftp://example.org/hook"),
        subscription_body("Observation", channel="email", endpoint="mailto:it@county-a.example"),
    ):
        answer = _post(client, "/fhir/Subscription", body, system_a)
        assert 400 <= answer.status_code < 500 and answer.json()["resourceType"] == "OperationOutcome", body
    assert client.get("/fhir/Subscription", **system_a).json().get("total") == 0
    assert not Subscription.objects.exists()


def test_a_withdrawn_client_is_notified_of_nothing_more(
    client, county_a, token_of, receiver, django_capture_on_commit_callbacks
):
    system_a = token_of(county_a, ["system/*.read", "system/*.write"])
    with django_capture_on_commit_callbacks(execute=True):
        sub_id = _subscribe(client, system_a, "Observation", endpoint=receiver.url).json()["id"]
    SiteClient.objects.update(active=False)
    writer = token_of(county_a, ["system/*.write", "system/*.read"])
    with django_capture_on_commit_callbacks(execute=True):
        _heart_rate_at(client, writer, 1)
    assert receiver.numbers(sub_id) == [0]


def test_a_clinician_is_notified_of_her_sites_records_not_another_sites(
    client, dr_li_at_county_a, county_b, token_for, token_of, receiver, django_capture_on_commit_callbacks
):
    li = token_for(dr_li_at_county_a)
    system_b = token_of(county_b, ["system/*.read", "system/*.write"])
    with django_capture_on_commit_callbacks(execute=True):
        created = _subscribe(client, li, "Observation", endpoint=receiver.url, payload="full-resource")
        assert created.status_code == 201, created.content
        sub_id = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        theirs = _heart_rate_at(client, system_b, 2)
        mine = _heart_rate_at(client, li, 1)
    assert receiver.numbers(sub_id) == [0, 1]
    resource = receiver.received[-1]["body"]["entry"][1]["resource"]
    assert (resource["resourceType"], resource["id"]) == ("Observation", mine)
    assert theirs not in json.dumps(receiver.received)
