"""Reads are audited by the background writer; writes are audited before the response leaves."""

import json
import time

import pytest
from django.utils import timezone

from hub.audit.models import AuditEvent
from hub.audit.writer import AuditRow, BackgroundWriter, writer
from tests.factories import patient_resource

FHIR = "application/fhir+json"


@pytest.mark.django_db(transaction=True)
def test_a_read_is_audited_by_the_writer_and_a_write_at_once(client, dr_li_at_county_a, token_for, settings):
    settings.AUDIT_DEFER_READS = True
    headers = token_for(dr_li_at_county_a)
    created = client.post("/fhir/Patient", json.dumps(patient_resource(3)), content_type=FHIR, **headers).json()
    assert AuditEvent.objects.filter(action="create", fhir_id=created["id"]).count() == 1  # stored already

    assert client.get(f"/fhir/Patient/{created['id']}", **headers).status_code == 200
    assert writer.drain(timeout=10)
    read = AuditEvent.objects.get(action="read", fhir_id=created["id"])
    assert (read.actor_id, read.status, read.patient) == (str(dr_li_at_county_a.pk), 200, f"Patient/{created['id']}")


@pytest.mark.django_db(transaction=True)
def test_a_refused_read_is_never_deferred(client, dr_zhao_at_county_b, dr_li_at_county_a, token_for, settings):
    settings.AUDIT_DEFER_READS = True
    created = client.post(
        "/fhir/Patient", json.dumps(patient_resource(4)), content_type=FHIR, **token_for(dr_li_at_county_a)
    ).json()
    assert client.get(f"/fhir/Patient/{created['id']}", **token_for(dr_zhao_at_county_b)).status_code == 404
    assert AuditEvent.objects.filter(action="read", fhir_id=created["id"], status=404).count() == 1


@pytest.mark.django_db(transaction=True)
def test_rows_arriving_while_a_batch_is_stored_wait_and_go_together():
    """A steady trickle of reads becomes one COPY per interval, not one per few rows."""

    class Counting(BackgroundWriter):
        batches: list[int] = []

        def _store(self, rows):
            self.batches.append(len(rows))
            super()._store(rows)

    writer = Counting(interval=0.2)
    row = AuditRow(
        timezone.now(), "user", "1", "Dr", "county-a", "read", "Patient", "p", "Patient/p", "", 200, True, "{}"
    )
    started = time.monotonic()
    for _ in range(150):
        writer.submit([row])
        time.sleep(0.005)
    elapsed = time.monotonic() - started
    assert writer.drain(timeout=5)
    assert AuditEvent.objects.count() == 150 == sum(writer.batches)
    assert len(writer.batches) <= elapsed / 0.2 + 2, writer.batches
