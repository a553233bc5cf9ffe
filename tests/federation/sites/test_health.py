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
