"""A worker killed (SIGKILL) in the middle of a bulk export: the job goes back to another worker once its
heartbeat is stale and completes, every resource in the files exactly once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from celery import Celery

from tests.faults.conftest import PYTHON, ROOT, wait_for

pytestmark = pytest.mark.redis

JOB = """
import django
django.setup()
from django.utils import timezone
from fhir_gateway.bulk.models import ExportJob
job = ExportJob.objects.create(actor_kind="internal", actor_id="faults", level="system",
                               types=["Patient", "Encounter", "Condition", "Observation"],
                               request_url="faults", created_at=timezone.now())
print(job.pk)
"""


def test_a_worker_killed_mid_export_leaves_complete_files_with_nothing_doubled(
    private_postgres, private_redis, fault_hub, tmp_path
):
    exports = tmp_path / "exports"
    fault_hub.environ.update(
        FHIR_EXPORT_DIR=str(exports), FHIR_EXPORT_BATCH="20", FHIR_EXPORT_FILE_RESOURCES="400",
        FHIR_EXPORT_STALE_SECONDS="3",
    )  # fmt: skip
    subprocess.run(
        [PYTHON, "bench/fhir_search_corpus.py", "--patients", "40"],
        cwd=ROOT, env=fault_hub.environ, check=True, capture_output=True,
    )  # fmt: skip
    expected = private_postgres.query(
        "SELECT count(*) FROM fhir_search_res WHERE rtype IN ('Patient', 'Encounter', 'Condition', 'Observation')"
    )[0][0]
    job_id = int(
        subprocess.run([PYTHON, "-c", JOB], cwd=ROOT, env=fault_hub.environ, check=True, capture_output=True,
                       text=True).stdout.split()[-1]
    )  # fmt: skip

    def done() -> int:
        return private_postgres.query("SELECT done FROM fhir_bulk_exportjob WHERE id = %s", [job_id])[0][0]

    client = Celery("faults-client", broker=private_redis.url, set_as_current=False)
    client.conf.task_default_queue = "celery"
    fault_hub.worker("worker-a")
    wait_for(lambda: len(client.control.ping(timeout=1) or []) >= 1, "worker a", 60)
    client.send_task("fhir.export_run", args=[job_id])
    wait_for(lambda: done() >= 400, "the export under way", 120)
    fault_hub.kill("worker-a")
    assert done() < expected, "the export finished before the kill"

    fault_hub.worker("worker-b")
    wait_for(lambda: len(client.control.ping(timeout=1) or []) >= 1, "worker b", 60)

    def recovered() -> bool:
        client.send_task("fhir.exports_recover")  # as beat does every minute
        status = private_postgres.query("SELECT status FROM fhir_bulk_exportjob WHERE id = %s", [job_id])[0][0]
        return status == "completed"

    wait_for(recovered, "the export completed by worker b", 180)
    client.close()

    attempts = private_postgres.query("SELECT attempts FROM fhir_bulk_exportjob WHERE id = %s", [job_id])[0][0]
    assert attempts == 2
    files = private_postgres.query("SELECT name, count FROM fhir_bulk_exportfile WHERE job_id = %s", [job_id])
    assert sum(count for _name, count in files) == expected
    ids = []
    for name, _count in files:
        ids += [
            line.split(b'"id":')[1].split(b",")[0].strip() for line in Path(exports, name).read_bytes().splitlines()
        ]
    assert len(ids) == expected and len(set(ids)) == expected, "a resource is missing or written twice"
    on_disk = sorted(path.name for path in exports.rglob("*.ndjson"))
    assert on_disk == sorted(Path(name).name for name, _count in files), "the dead worker's partial files remain"
