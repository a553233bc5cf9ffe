"""Simulated county sites over real HTTP (127.0.0.1, a free port) and their sync configurations."""

from __future__ import annotations

import pytest

from federation.auth.services import site_client_create
from federation.simulator.data import site_populate
from federation.simulator.server import SiteSimulator
from federation.sites.sync_config import SiteSync


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.FEDERATION_SYNC = {"retries": 2, "backoff": 0.01, "breaker_threshold": 3, "probe_after": 60}
    settings.FEDERATION_HUB_BASE_URL = "http://testserver/fhir"


@pytest.fixture
def site_a_server():
    sim = SiteSimulator(site="county-a").start()
    site_populate(sim.store, site="county-a", region="411321", district="东川县", patients=12, records_per_patient=4)
    yield sim
    sim.stop()


@pytest.fixture
def site_b_server():
    sim = SiteSimulator(site="county-b").start()
    site_populate(sim.store, site="county-b", region="411322", district="西河县", patients=8, records_per_patient=3)
    yield sim
    sim.stop()


@pytest.fixture
def sync_a(county_a, site_a_server):
    return SiteSync.objects.create(site=county_a, base_url=site_a_server.base_url, page_size=10)


@pytest.fixture
def sync_b(county_b, site_b_server):
    return SiteSync.objects.create(site=county_b, base_url=site_b_server.base_url, page_size=10)


@pytest.fixture
def token_of(client):
    """``token_of(site, scopes)``: a fresh client for ``site`` allowed ``scopes``, and its bearer headers."""

    def make(site, scopes: list[str], *, ask: list[str] | None = None) -> dict[str, str]:
        _client, client_id, secret = site_client_create(site=site, name=f"{site.code} HIS", scopes=scopes)
        response = client.post(
            "/o/token/",
            {"grant_type": "client_credentials", "scope": " ".join(ask or scopes)},
            HTTP_AUTHORIZATION=_basic(client_id, secret),
        )
        assert response.status_code == 200, response.content
        return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access_token']}"}

    return make


def _basic(client_id: str, secret: str) -> str:
    import base64
    from urllib.parse import quote

    raw = f"{quote(client_id)}:{quote(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()
