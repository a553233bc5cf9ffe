"""Gateway actors and sample resources (the gateway knows no hub users: actors are plain values)."""

from __future__ import annotations

import pytest

from fhir_gateway.context import INTERNAL, Actor


@pytest.fixture
def workflow_at_county_a() -> Actor:
    """The hub's own workflow code acting for county A (the user and site-system policies do not apply)."""
    return Actor(kind=INTERNAL, id="referrals", display="Referral workflow", site="county-a")


def patient(mrn: str = "A001", family: str = "王", given: str = "芳", **extra) -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:alliance:site:county-a:mrn", "value": mrn}],
        "name": [{"family": family, "given": [given]}],
        "gender": "female",
        "birthDate": "1968-03-02",
        **extra,
    }


class FhirClient:
    """Django's test client speaking FHIR JSON as one signed-in user."""

    def __init__(self, client, auth: dict[str, str]):
        self.client, self.auth = client, auth

    def _send(self, method: str, url: str, body=None, *, content_type: str = "application/fhir+json", **headers):
        import orjson

        data = body if isinstance(body, bytes | str) or body is None else orjson.dumps(body)
        extra = {**self.auth, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}}
        if data is None:
            return getattr(self.client, method)(url, **extra)
        return getattr(self.client, method)(url, data=data, content_type=content_type, **extra)

    def get(self, url, **headers):
        return self._send("get", url, **headers)

    def post(self, url, body=None, **kwargs):
        return self._send("post", url, body, **kwargs)

    def put(self, url, body=None, **kwargs):
        return self._send("put", url, body, **kwargs)

    def patch(self, url, body=None, **kwargs):
        kwargs.setdefault("content_type", "application/json-patch+json")
        return self._send("patch", url, body, **kwargs)

    def delete(self, url, **headers):
        return self._send("delete", url, **headers)


@pytest.fixture
def fhir(client, dr_li_at_county_a, token_for) -> FhirClient:
    """Dr Li of county A, through the REST API with a bearer token."""
    return FhirClient(client, token_for(dr_li_at_county_a))


@pytest.fixture
def fhir_county_b(client, dr_zhao_at_county_b, token_for) -> FhirClient:
    return FhirClient(client, token_for(dr_zhao_at_county_b))
