"""Reads are audited by the background writer; writes are audited before the response leaves."""

import json

import pytest

from hub.audit.models import AuditEvent
from hub.audit.writer import writer
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
    assert client.get(f"/fhir/Patient/{created['id']}", **token_for(dr_zhao_at_county_b)).status_code == 403
    assert AuditEvent.objects.filter(action="read", fhir_id=created["id"], status=403).count() == 1
