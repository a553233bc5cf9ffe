"""The audit trail under PostgreSQL faults: a write's row is stored in the write's own transaction, so
connections cut mid-stream never leave a stored write unrecorded nor answer a stored write with an error."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.faults.conftest import user_with_token, wait_for
from tests.faults.test_database_faults import Writer

pytestmark = pytest.mark.redis  # the private Redis needs redis-server; both servers are the test's own

# Every audit insert fails as a cut connection fails it (SQLSTATE 57P01, an OperationalError to the hub).
REFUSE_AUDIT = """
CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit insert refused by the test' USING ERRCODE = '57P01'; END $$;
CREATE TRIGGER audit_refuse BEFORE INSERT ON audit_auditevent FOR EACH ROW EXECUTE FUNCTION audit_refuse();
"""


def test_every_stored_write_has_its_audit_row_when_connections_are_cut(private_postgres, fault_hub, tmp_path):
    private_postgres.query("DELETE FROM fhir_gateway_resourceversion WHERE resource_type = 'Observation'")
    private_postgres.query("DELETE FROM fhir_gateway_resource WHERE resource_type = 'Observation'")
    fault_hub.environ["AUDIT_SPOOL_DIR"] = str(tmp_path / "spool")
    token = user_with_token(fault_hub, "dr_audit_faults", "county_doctor", "county-a")
    server = fault_hub.server()
    writer = Writer(server, token, count=80)
    writer.thread.start()
    wait_for(lambda: len(writer.acknowledged) >= 5, "the first writes", 60)
    for _ in range(10):  # connections cut mid-stream, the server staying up
        private_postgres.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'hub' AND pid <> pg_backend_pid()"
        )
        time.sleep(0.25)
    # Then the audit insert itself failing for a while (as the connection cut between a write and its row did):
    # a write must not be stored without its row, nor answered with an error once stored.
    private_postgres.query(REFUSE_AUDIT)
    try:
        # CREATE TRIGGER waits for the inserts in flight to commit; the answers to those are still on their way
        # (a write committed just before the trigger is acknowledged just after it), so count after they land.
        time.sleep(0.5)
        acknowledged = len(writer.acknowledged)
        time.sleep(2)
        assert len(writer.acknowledged) == acknowledged, "a write was acknowledged without its audit row"
    finally:
        private_postgres.query("DROP TRIGGER audit_refuse ON audit_auditevent; DROP FUNCTION audit_refuse()")
    writer.thread.join(240)
    assert not writer.thread.is_alive(), f"the writer did not finish: {writer.statuses}"
    assert 500 not in writer.statuses, writer.statuses
    assert writer.statuses[503] + writer.statuses["transport"] > 0, "the faults never reached a request"

    stored = private_postgres.query(
        "SELECT fhir_id FROM fhir_gateway_resource WHERE resource_type = 'Observation' AND NOT deleted "
        "AND content->'identifier'->0->>'system' = 'urn:test:faults'"
    )
    created = Counter(
        row[0]
        for row in private_postgres.query(
            "SELECT fhir_id FROM audit_auditevent WHERE resource_type = 'Observation' AND action = 'create' "
            "AND status = 201"
        )
    )
    assert len(stored) == 80
    missing = [fhir_id for (fhir_id,) in stored if created[fhir_id] != 1]
    assert not missing, f"stored writes without exactly one audit row: {missing[:5]}"
    assert set(created) == {fhir_id for (fhir_id,) in stored}, "an audit row of a write that was not stored"
