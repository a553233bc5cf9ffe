"""The hub's server process SIGKILLed while it stores a 100-entry transaction Bundle: each Bundle is stored
whole or not at all (resources and their versions), whatever moment the kill lands, and the next process
serves on."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.faults.conftest import user_with_token

pytestmark = pytest.mark.redis  # the private Redis needs redis-server; both servers are the test's own

ENTRIES = 100
SYSTEM = "urn:test:tx-kill"


def _bundle(round_: int) -> dict:
    entries = []
    for n in range(ENTRIES):
        entries.append(
            {
                "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{round_:04d}{n:08d}",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "identifier": [{"system": SYSTEM, "value": f"{round_}-{n}"}],
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
                    "valueQuantity": {"value": 60 + n % 40, "unit": "/min", "system": "http://unitsofmeasure.org",
                                      "code": "/min"},
                },
                "request": {"method": "POST", "url": "Observation"},
            }
        )  # fmt: skip
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _stored(private_postgres, round_: int) -> tuple[int, int]:
    """This round's Observations, and their versions, as committed."""
    [(resources, versions)] = private_postgres.query(
        "SELECT count(DISTINCT r.id), count(v.id) FROM fhir_gateway_resource r "
        "LEFT JOIN fhir_gateway_resourceversion v ON v.resource_id = r.id "
        "WHERE r.resource_type = 'Observation' AND r.content->'identifier'->0->>'system' = %s "
        "AND r.content->'identifier'->0->>'value' LIKE %s",
        [SYSTEM, f"{round_}-%"],
    )
    return resources, versions


def test_a_server_killed_mid_transaction_stores_each_bundle_whole_or_not_at_all(private_postgres, fault_hub):
    token = user_with_token(fault_hub, "dr_tx_faults", "county_doctor", "county-t")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}

    # Round 0, not killed: how long a Bundle takes, so that the kills land across its whole length.
    server = fault_hub.server("server-0")
    started = time.monotonic()
    answer = httpx.post(f"{server}/fhir", json=_bundle(0), headers=headers, timeout=120)
    took = time.monotonic() - started
    assert answer.status_code == 200, answer.text[:500]
    assert _stored(private_postgres, 0) == (ENTRIES, ENTRIES)

    outcomes = []
    fractions = (0.15, 0.45, 0.75, 0.9, 1.05)  # of the first Bundle's time: before, around and after its commit
    for round_, fraction in enumerate(fractions, start=1):
        name = f"server-{round_}"
        server = fault_hub.server(name)
        answered: list[int] = []
        bundle = _bundle(round_)

        def send(url=server, bundle=bundle, answered=answered):
            try:
                answered.append(httpx.post(f"{url}/fhir", json=bundle, headers=headers, timeout=120).status_code)
            except httpx.TransportError:
                pass  # the server died under it

        sending = threading.Thread(target=send, daemon=True)
        sending.start()
        time.sleep(took * fraction)
        fault_hub.kill(name)
        sending.join(30)
        time.sleep(0.5)  # PostgreSQL sees the dead connection and rolls back what it had not committed
        resources, versions = _stored(private_postgres, round_)
        outcomes.append((fraction, answered, resources))
        assert (resources, versions) in ((0, 0), (ENTRIES, ENTRIES)), f"round {round_}: a part stored: {outcomes}"
        if answered == [200]:
            assert resources == ENTRIES, f"round {round_}: answered 200 but not stored: {outcomes}"

    print("kill at fraction of the Bundle's time, answer, stored:", outcomes)
    assert any(not answered for _f, answered, _r in outcomes), f"no kill landed during a Bundle: {outcomes}"
    # and the next process serves on
    server = fault_hub.server("server-after")
    assert httpx.get(f"{server}/healthz", timeout=10).status_code == 200
