"""Site systems with OAuth2 client credentials, and a way to get their access tokens over HTTP."""

from __future__ import annotations

import pytest

from federation.auth.services import site_client_create


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
