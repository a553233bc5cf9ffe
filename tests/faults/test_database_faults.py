"""PostgreSQL cut off or restarted while writes are in flight: no stored write is answered as an error that
invites a duplicate, ``/healthz`` says what is wrong while it is wrong, and the hub recovers by itself."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx
import pytest

from tests.faults.conftest import user_with_token, wait_for

pytestmark = pytest.mark.redis  # the private Redis needs redis-server; both servers are the test's own


def _observation(identifier: str) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": "urn:test:faults", "value": identifier}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "valueQuantity": {"value": 88, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }


class Writer:
    """A site system writing observations, each until it is acknowledged, as a careful FHIR client does:
    a conditional create (``If-None-Exist`` on its identifier), retried after a 503 or a cut connection."""

    def __init__(self, base_url: str, token: str, count: int):
        self.base_url, self.token, self.count = base_url, token, count
        self.statuses: Counter = Counter()
        self.acknowledged: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/fhir+json"}
        with httpx.Client(timeout=15) as client:
            for n in range(self.count):
                identifier = f"obs-{n}"
                while True:
                    try:
                        answer = client.post(
                            f"{self.base_url}/fhir/Observation",
                            json=_observation(identifier),
                            headers={**headers, "If-None-Exist": f"identifier=urn:test:faults|{identifier}"},
                        )
                    except httpx.TransportError:
                        self.statuses["transport"] += 1
                        time.sleep(0.2)
                        continue
                    self.statuses[answer.status_code] += 1
                    if answer.status_code in (200, 201):
                        self.acknowledged.append(identifier)
                        break
                    assert answer.status_code == 503, (answer.status_code, answer.text[:300])
                    assert answer.headers.get("content-type", "").startswith("application/fhir+json")
                    time.sleep(0.2)


def _stored(private_postgres) -> Counter:
    rows = private_postgres.query(
        "SELECT content->'identifier'->0->>'value' FROM fhir_gateway_resource WHERE resource_type = 'Observation' "
        "AND NOT deleted AND content->'identifier'->0->>'system' = 'urn:test:faults'"
    )
    return Counter(row[0] for row in rows)


def _health(base_url: str) -> tuple[int, dict]:
    answer = httpx.get(f"{base_url}/healthz", timeout=5)
    return answer.status_code, answer.json()


def test_connections_cut_and_a_restart_mid_writes_lose_and_double_nothing(private_postgres, fault_hub):
    # a clean slate for this test's identifiers (the private database is the session's: other fault tests wrote
    # Observations, with their versions, before this one)
    private_postgres.query("DELETE FROM fhir_gateway_resourceversion WHERE resource_type = 'Observation'")
    private_postgres.query("DELETE FROM fhir_gateway_resource WHERE resource_type = 'Observation'")
    token = user_with_token(fault_hub, "dr_faults", "county_doctor", "county-a")
    server = fault_hub.server()
    writer = Writer(server, token, count=120)
    writer.thread.start()
    wait_for(lambda: len(writer.acknowledged) >= 10, "the first writes", 60)

    # 1. Connections cut mid-stream, the server staying up.
    for _ in range(6):
        private_postgres.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'hub' AND pid <> pg_backend_pid()"
        )
        time.sleep(0.3)

    # 2. PostgreSQL down for a while, then back.
    private_postgres.stop("fast")
    status, body = wait_for(lambda: (s := _health(server))[0] == 503 and s, "healthz reporting the outage", 30)
    assert body["checks"]["database"]["ok"] is False
    time.sleep(2)
    private_postgres.start()
    wait_for(lambda: _health(server)[0] == 200, "healthz recovering", 60)

    writer.thread.join(240)
    assert not writer.thread.is_alive(), f"the writer did not finish: {writer.statuses}"
    stored = _stored(private_postgres)
    assert sorted(writer.acknowledged) == sorted(f"obs-{n}" for n in range(120))
    assert set(stored) == set(writer.acknowledged), "an acknowledged write is missing"
    assert max(stored.values()) == 1, f"doubled: {[k for k, v in stored.items() if v > 1]}"
    assert 500 not in writer.statuses, writer.statuses
    assert writer.statuses[503] + writer.statuses["transport"] > 0, "the faults never reached a request"
