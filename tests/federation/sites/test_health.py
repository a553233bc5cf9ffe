"""Site health as the hub shows it."""

from __future__ import annotations

import pytest

from federation.sites.sync_config import HealthState
from federation.sync.pull import site_sync_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_site_admins_see_each_sites_state_lag_and_errors(client, sync_a, sync_b, site_b_server, admin_of_county_a):
    site_b_server.failures.down = True
    site_sync_run(sync_id=sync_a.pk)
    site_sync_run(sync_id=sync_b.pk)
    client.force_login(admin_of_county_a)

    sites = {s["site"]: s for s in client.get("/federation/sites/health").json()["sites"]}

    assert sites["county-a"]["state"] == HealthState.HEALTHY
    assert sites["county-a"]["lag_seconds"] >= 0
    assert sites["county-b"]["state"] == HealthState.DEGRADED
    assert sites["county-b"]["recent_errors"][0]["error"].startswith("RemoteProtocolError")


def test_others_are_refused(client, dr_li_at_county_a):
    client.force_login(dr_li_at_county_a)

    response = client.get("/federation/sites/health")

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_healthz_says_how_many_sites_fail_without_naming_them_and_stays_ready(client, sync_a, sync_b, site_b_server):
    site_b_server.failures.down = True
    site_sync_run(sync_id=sync_a.pk)
    site_sync_run(sync_id=sync_b.pk)

    answer = client.get("/healthz")

    assert answer.status_code == 200  # a county's outage is not this hub's: it stays ready
    sites = answer.json()["checks"]["sites"]
    assert (sites["healthy"], sites["degraded"] + sites["down"]) == (1, 1)
    assert "county-b" not in answer.content.decode()  # who and why: /federation/sites/health, for administrators

    site_b_server.failures.down = False
    site_sync_run(sync_id=sync_b.pk)
    assert client.get("/healthz").json()["checks"]["sites"]["healthy"] == 2
