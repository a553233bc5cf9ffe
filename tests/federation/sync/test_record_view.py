"""The on-demand record view (调阅): live from the county site, else the synced copy and its age."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from federation.sync.pull import site_sync_run
from federation.sync.record_view import cache_key

pytestmark = pytest.mark.django_db(transaction=True)
PATIENT = "county-a-a0000001"
CACHED = cache_key("county-a", "a0000001")


@pytest.fixture
def synced(sync_a, settings):
    settings.FEDERATION_RECORD_VIEW_TIMEOUT = 0.5
    cache.delete(CACHED)
    assert site_sync_run(sync_id=sync_a.pk).ok
    yield sync_a
    cache.delete(CACHED)


def test_a_doctor_sees_the_live_record_then_the_brief_cache(
    client, synced, site_a_server, dr_li_at_county_a, token_for
):
    headers = token_for(dr_li_at_county_a)

    live = client.get(f"/federation/patients/{PATIENT}/record", **headers)
    again = client.get(f"/federation/patients/{PATIENT}/record", **headers)

    assert live.status_code == 200, live.content
    assert live["X-Record-Source"] == "live"
    resources = [e["resource"] for e in live.json()["entry"]]
    assert resources[0]["id"] == PATIENT and len(resources) == 5
    assert again["X-Record-Source"] == "cache"


def test_a_slow_site_falls_back_to_the_synced_copy_with_its_age(
    client, synced, site_a_server, dr_li_at_county_a, token_for
):
    site_a_server.failures.delay = 1.5  # beyond the 0.5 s the view waits

    response = client.get(f"/federation/patients/{PATIENT}/record", **token_for(dr_li_at_county_a))

    assert response.status_code == 200
    assert response["X-Record-Source"] == "synced"
    assert float(response["X-Record-Age"]) >= 0
    assert {e["resource"]["resourceType"] for e in response.json()["entry"]} == {
        "Patient", "Encounter", "Condition", "Observation",
    }  # fmt: skip


def test_a_site_down_falls_back_too(client, synced, site_a_server, dr_li_at_county_a, token_for):
    site_a_server.failures.down = True

    response = client.get(f"/federation/patients/{PATIENT}/record", **token_for(dr_li_at_county_a))

    assert response["X-Record-Source"] == "synced"


def test_another_sites_doctor_gets_no_record_view(client, synced, dr_zhao_at_county_b, token_for):
    response = client.get(f"/federation/patients/{PATIENT}/record", **token_for(dr_zhao_at_county_b))

    assert response.status_code == 404  # as for a patient that does not exist
    assert response.json()["resourceType"] == "OperationOutcome"


def test_an_unknown_patient_is_a_404_with_an_operation_outcome(client, synced, dr_li_at_county_a, token_for):
    response = client.get("/federation/patients/county-a-nobody/record", **token_for(dr_li_at_county_a))

    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"
