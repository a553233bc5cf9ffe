"""HTTP batch upload: a site's system with an OAuth2 client-credentials token and a device scope; each message
taken or refused whole."""

from __future__ import annotations

import pytest
from django.test import Client

from federation.auth.services import site_client_create
from hub.devices.ingest.buffer import buffer_recent
from hub.devices.models import Rejection
from tests.federation.conftest import _basic
from tests.hub.devices.conftest import vitals


def token(site, scopes: list[str]) -> dict:
    _client, client_id, secret = site_client_create(site=site, name="gateway", scopes=scopes)
    answer = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": " ".join(scopes)},
        HTTP_AUTHORIZATION=_basic(client_id, secret),
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {answer.json()['access_token']}"}


def upload(headers, messages):
    return Client().post("/api/devices/ingest", {"messages": messages}, content_type="application/json", **headers)


def test_a_batch_is_taken_message_by_message(bound, county_a):
    headers = token(county_a, ["system/Device.write"])
    answer = upload(headers, [{"device": "mon-03", **vitals(hr=66)}, {"device": "mon-03", **vitals(hr=999)}])
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["accepted"] == 1 and body["refused"] == 1
    assert body["results"][1] == {
        "index": 1,
        "status": "refused",
        "error": "impossible_value",
        "detail": body["results"][1]["detail"],
    }
    assert [f["numerics"]["hr"] for f in buffer_recent(bound.pk, 5)] == [66]
    assert Rejection.objects.get().path == "http"


def test_without_a_device_scope_nothing_is_taken(bound, county_a):
    answer = upload(token(county_a, ["system/Patient.read"]), [{"device": "mon-03", **vitals()}])
    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"
    assert buffer_recent(bound.pk, 5) == []


def test_another_sites_system_cannot_feed_our_devices(bound, county_b):
    answer = upload(token(county_b, ["system/Device.write"]), [{"device": "mon-03", **vitals()}])
    assert answer.status_code == 200 and answer.json()["results"][0]["error"] == "unknown_device"
    assert buffer_recent(bound.pk, 5) == []


@pytest.mark.parametrize("headers", [{}, {"HTTP_AUTHORIZATION": "Bearer nonsense"}])
def test_no_token_is_401(bound, headers):
    answer = upload(headers, [{"device": "mon-03", **vitals()}])
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"


def test_a_malformed_body_is_400(bound, county_a):
    headers = token(county_a, ["system/Device.write"])
    assert (
        Client().post("/api/devices/ingest", {"messages": "x"}, content_type="application/json", **headers).status_code
        == 400
    )
    assert Client().post("/api/devices/ingest", "[1]", content_type="application/json", **headers).status_code == 400
    answer = upload(headers, [["not", "an", "object"]])
    assert answer.json()["results"][0]["error"] == "malformed"
