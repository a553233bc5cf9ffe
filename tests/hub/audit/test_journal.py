"""Deferred read rows are journalled on disk before the response leaves: a killed server loses none."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest

from hub.audit.journal import Journal, adopt_orphans
from hub.audit.models import AuditEvent
from hub.audit.spool import spool_drain, spool_state
from hub.audit.writer import BackgroundWriter
from tests.conftest import free_port
from tests.factories import patient_resource
from tests.multiprocess.conftest import ROOT, _database_url, _wait_for

FHIR = "application/fhir+json"
pytestmark = pytest.mark.django_db(transaction=True)  # a server process of its own reads what the test wrote


@pytest.fixture
def spool(settings, tmp_path):
    settings.AUDIT_SPOOL_DIR = tmp_path / "spool"
    return settings.AUDIT_SPOOL_DIR


def _read_rows(fhir_id: str) -> int:
    return AuditEvent.objects.filter(action="read", fhir_id=fhir_id, status=200).count()


def test_reads_of_a_server_killed_before_it_stored_their_rows_are_stored_by_the_next_drain(
    client, dr_li_at_county_a, token_for, spool, tmp_path
):
    headers = token_for(dr_li_at_county_a)
    created = client.post("/fhir/Patient", json.dumps(patient_resource(31)), content_type=FHIR, **headers).json()
    port = free_port()
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hub.settings.base",
        "DATABASE_URL": _database_url(),
        "AUDIT_DEFER_READS": "true",
        "AUDIT_DEFER_MS": "60000",  # the server holds its read rows for a minute: the kill comes first
        "AUDIT_SPOOL_DIR": str(spool),
        "HUB_LANGUAGE": "en",
    }
    for name in ("REDIS_URL", "MQTT_URL"):
        environ.pop(name, None)
    with open(tmp_path / "server.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "hub.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--lifespan", "off", "--log-level", "warning"],
            cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for(lambda: httpx.get(f"{url}/livez", timeout=1).status_code == 200, "the server")
        bearer = {"Authorization": headers["HTTP_AUTHORIZATION"]}
        with httpx.Client(base_url=url, headers=bearer, timeout=10) as http:
            for _ in range(25):
                assert http.get(f"/fhir/Patient/{created['id']}").status_code == 200
        assert _read_rows(created["id"]) == 0, "the rows were meant to wait in the server"
        assert list(spool.glob("*.journal")), "no journal segment on disk"
        assert spool_state()["files"] == 0, "a live server's segment is not adopted"
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(10)

    # Another process (here the test's; in production any hub process's writer or Celery beat) adopts it.
    assert spool_state()["files"] == 1
    assert spool_drain() == 25
    assert _read_rows(created["id"]) == 25
    assert not list(spool.iterdir())


def test_a_batch_is_stored_then_its_segment_deleted_and_a_failed_one_becomes_a_spool_file(spool):
    from django.utils import timezone

    from hub.audit.writer import AuditRow

    def row(fhir_id: str) -> AuditRow:
        return AuditRow(
            timezone.now(), "user", "1", "Dr", "county-a", "read", "Patient", fhir_id, "", "", 200, True, "{}"
        )

    class Refusing(BackgroundWriter):
        refuse = True

        def _store(self, rows):
            if self.refuse:
                raise OSError("the database is away")
            super()._store(rows)

    writer = Refusing(interval=0.05, journal=Journal())
    writer.submit([row("j-1"), row("j-2")])
    assert writer.drain(timeout=5)
    # Not stored: the journal's segment, as it was, now waits in the spool.
    assert [path.suffix for path in spool.iterdir()] == [".jsonl"]
    assert AuditEvent.objects.filter(fhir_id__startswith="j-").count() == 0

    writer.refuse = False
    writer.submit([row("j-3")])
    assert writer.drain(timeout=5)
    assert list(AuditEvent.objects.filter(fhir_id__startswith="j-").values_list("fhir_id", flat=True)) == ["j-3"]
    assert [path.suffix for path in spool.iterdir()] == [".jsonl"]  # its segment deleted once stored
    assert spool_drain() == 2
    assert AuditEvent.objects.filter(fhir_id__startswith="j-").count() == 3
    writer.shutdown(1)
    assert not list(spool.iterdir())


def test_a_segment_cut_short_by_a_kill_keeps_its_whole_rows(spool):
    from django.utils import timezone

    from hub.audit.writer import AuditRow

    journal = Journal()
    rows = [
        AuditRow(timezone.now(), "user", "1", "Dr", "county-a", "read", "Patient", f"c-{n}", "", "", 200, True, "{}")
        for n in range(3)
    ]
    journal.append(rows)
    segment = journal.rotate()
    with open(segment.path, "ab") as out:
        out.write(b'{"recorded_at": "2026-')  # a fourth row's append, cut short
    os.close(segment.descriptor)  # as the process's death lets go of it
    assert adopt_orphans(spool) == 1
    assert spool_drain() == 3
    assert AuditEvent.objects.filter(fhir_id__startswith="c-").count() == 3


def test_reads_are_audited_in_the_request_when_the_journal_cannot_be_written(
    client, dr_li_at_county_a, token_for, settings, tmp_path, monkeypatch
):
    from hub.audit.writer import writer

    settings.AUDIT_DEFER_READS = True
    monkeypatch.setattr(writer, "journal", Journal())  # one not yet opened, as in a new process
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    settings.AUDIT_SPOOL_DIR = blocked  # mkdir fails: the journal cannot be opened
    headers = token_for(dr_li_at_county_a)
    created = client.post("/fhir/Patient", json.dumps(patient_resource(32)), content_type=FHIR, **headers).json()
    assert client.get(f"/fhir/Patient/{created['id']}", **headers).status_code == 200
    assert _read_rows(created["id"]) == 1  # stored before the response, not deferred
