"""Audit rows the database does not take are kept in the durable spool, retried, and shown in /healthz."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from hub.audit.models import AuditEvent
from hub.audit.spool import spool_drain, spool_state

pytestmark = pytest.mark.django_db(transaction=True)  # the audit rows are written as the server writes them


@pytest.fixture
def empty_spool(settings, tmp_path):
    settings.AUDIT_SPOOL_DIR = tmp_path / "spool"
    return settings.AUDIT_SPOOL_DIR


def test_a_refusals_row_the_database_refuses_waits_in_the_spool_until_it_is_stored(
    client, dr_zhao_at_county_b, token_for, empty_spool
):
    headers = token_for(dr_zhao_at_county_b)
    # The audit table locked by another session, and this one giving up on locks after 0.2 s: the row's INSERT
    # fails as it would with the database gone, while the rest of the request still works.
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("LOCK TABLE audit_auditevent IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        answer = client.get("/fhir/Patient/not-there", **headers)
        assert answer.status_code == 404
        assert spool_state()["files"] == 1
        health = client.get("/healthz").json()["checks"]["audit"]
        assert health["ok"] is True and health["spooled_files"] == 1
        other.rollback()
    assert not AuditEvent.objects.filter(fhir_id="not-there").exists()

    assert spool_drain() == 1
    row = AuditEvent.objects.get(fhir_id="not-there")
    assert (row.actor_id, row.status, row.success) == (str(dr_zhao_at_county_b.pk), 404, False)
    assert spool_state()["files"] == 0
    assert client.get("/healthz").json()["checks"]["audit"]["spooled_files"] == 0


def test_a_spool_stuck_for_long_fails_healthz(empty_spool, client):
    import os
    import time

    empty_spool.mkdir(parents=True)
    stuck = empty_spool / "00000000000000000001-1-stuck.jsonl"
    stuck.write_text("")
    os.utime(stuck, (time.time() - 3600, time.time() - 3600))
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["audit"]["ok"] is False
