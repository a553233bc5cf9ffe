"""The audit trail's hash chain: ``manage.py audit_verify`` finds a row altered or deleted, and a seal changed."""

from __future__ import annotations

import json
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from hub.audit.models import AuditEvent, AuditSeal
from hub.audit.seals import audit_seal, audit_verify
from tests.factories import patient_resource

FHIR = "application/fhir+json"
pytestmark = pytest.mark.django_db(transaction=True)  # the sealer waits for transactions to end


def _sealed_trail(client, user, token_for, reads: int = 3) -> None:
    """Some audited reads and writes, all sealed."""
    headers = token_for(user)
    created = client.post("/fhir/Patient", json.dumps(patient_resource(21)), content_type=FHIR, **headers).json()
    for _ in range(reads):
        client.get(f"/fhir/Patient/{created['id']}", **headers)
    deadline = time.monotonic() + 20
    while AuditEvent.objects.filter(id__gt=_last_sealed()).exists():
        assert time.monotonic() < deadline, "the rows were never sealed"
        audit_seal()
        time.sleep(0.3)


def _last_sealed() -> int:
    return AuditSeal.objects.order_by("-seq").values_list("last_id", flat=True).first() or 0


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_an_intact_trail_verifies(client, dr_li_at_county_a, token_for):
    _sealed_trail(client, dr_li_at_county_a, token_for)
    result = audit_verify()
    assert result.ok, result.problems
    assert result.seals >= 1 and result.rows == AuditEvent.objects.count() - result.unsealed
    call_command("audit_verify")  # exits 0


def test_an_altered_row_is_found(client, dr_li_at_county_a, token_for):
    _sealed_trail(client, dr_li_at_county_a, token_for)
    row = AuditEvent.objects.filter(action="read").order_by("id").first()
    _sql("UPDATE audit_auditevent SET status = 200, actor_id = 'someone-else' WHERE id = %s", [row.pk])
    result = audit_verify()
    assert not result.ok
    assert any("altered" in problem for problem in result.problems), result.problems
    with pytest.raises(CommandError, match="tampered"):
        call_command("audit_verify")


def test_a_deleted_row_is_found(client, dr_li_at_county_a, token_for):
    _sealed_trail(client, dr_li_at_county_a, token_for)
    row = AuditEvent.objects.filter(action="read").order_by("id").last()
    _sql("DELETE FROM audit_auditevent WHERE id = %s", [row.pk])
    result = audit_verify()
    assert any("1 row(s) deleted" in problem for problem in result.problems), result.problems


def test_a_changed_or_removed_seal_breaks_the_chain(client, dr_li_at_county_a, token_for):
    _sealed_trail(client, dr_li_at_county_a, token_for, reads=1)
    _sealed_trail(client, dr_li_at_county_a, token_for, reads=1)
    seals = list(AuditSeal.objects.order_by("seq"))
    assert len(seals) >= 2
    _sql("UPDATE audit_auditseal SET digest = %s WHERE seq = %s", ["0" * 64, seals[0].seq])
    assert any("seal itself was changed" in problem for problem in audit_verify().problems)
    _sql("DELETE FROM audit_auditseal WHERE seq = %s", [seals[0].seq])
    assert not audit_verify().ok


def test_sealing_waits_for_transactions_still_running(client, dr_li_at_county_a, token_for):
    """A row whose transaction is still open when the mark is taken is sealed only after it ends."""
    import psycopg

    _sealed_trail(client, dr_li_at_county_a, token_for, reads=1)
    with psycopg.connect(**connection.get_connection_params()) as slow:  # an open transaction, a low id
        slow.execute(
            "INSERT INTO audit_auditevent (recorded_at, actor_kind, actor_id, actor_display, actor_site, action, "
            "resource_type, fhir_id, patient, owner, status, success, detail) VALUES (now(), 'user', 'slow', '', '', "
            "'read', 'Patient', 'x', '', '', 200, true, '{}')"
        )
        client.get("/fhir/Patient?_count=1", **token_for(dr_li_at_county_a))  # a later row, committed
        for _ in range(3):
            audit_seal()
            time.sleep(1.1)
        slow.commit()
    _sealed_trail(client, dr_li_at_county_a, token_for, reads=1)
    result = audit_verify()
    assert result.ok, result.problems
    assert AuditEvent.objects.filter(actor_id="slow").exists()
