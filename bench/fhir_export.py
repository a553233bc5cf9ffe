"""Bulk export benchmark: a system-level ``$export`` of the search corpus (1 M resources at 10,000 patients).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hub_bench_search \\
        .venv/bin/python bench/fhir_export.py [--generate --patients 10000]

``--generate`` builds the corpus first with ``bench/fhir_search_corpus.py`` (in that database: it empties
its FHIR tables). The export runs as a worker runs it (``export_run`` in a process of its own), for a
hub administrator, into a scratch folder; the benchmark reports resources/s, the worker's peak memory
(maximum resident set), the files and bytes written, and checks that every resource was exported
once. For the ratio, the same rows are COPYed out of PostgreSQL as text in the same run (the raw
baseline: no access scoping, no files, no progress).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.fhir_server import PYTHON, ROOT, machine  # noqa: E402

RUN = """
import os, sys, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.base")
django.setup()
from fhir_gateway.bulk.services import export_run
started = time.perf_counter()
export_run(job_id=int(sys.argv[1]))
print(f"{time.perf_counter() - started:.3f}")
"""

JOB = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.base")
django.setup()
from django.utils import timezone
from fhir_gateway.bulk.models import ExportJob
from fhir_gateway.bulk.services import _types_with_data
job = ExportJob.objects.create(actor_kind="internal", actor_id="bench", level="system", types=_types_with_data(),
                               request_url="bench", created_at=timezone.now())
print(job.pk)
"""


def _django(code: str, *args: str, env: dict) -> str:
    result = subprocess.run([PYTHON, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode:
        sys.exit(result.stderr[-3000:])
    return result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generate", action="store_true", help="build the corpus first")
    parser.add_argument("--patients", type=int, default=10_000, help="corpus size with --generate (x100 resources)")
    parser.add_argument("--file-resources", type=int, default=100_000, help="resources per NDJSON file")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("Set DATABASE_URL (the corpus database of bench/fhir_search_corpus.py).")
    if args.generate:
        subprocess.run([PYTHON, "bench/fhir_search_corpus.py", "--patients", str(args.patients)], cwd=ROOT, check=True)

    folder = Path(tempfile.mkdtemp(prefix="hub-export-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hub.settings.base",
        "FHIR_EXPORT_DIR": str(folder),
        "FHIR_EXPORT_FILE_RESOURCES": str(args.file_resources),
        "AUDIT_DEFER_READS": "false",
    }
    env.pop("REDIS_URL", None)
    with psycopg.connect(url) as conn:
        total = conn.execute("SELECT count(*) FROM fhir_search_res").fetchone()[0]
    print(machine())
    print(f"corpus: {total:,} resources")

    # Raw baseline: the same rows out of PostgreSQL as text, in resource order, into one file.
    started = time.perf_counter()
    raw_bytes = 0
    with psycopg.connect(url) as conn, open(folder / "raw.ndjson", "wb") as out:
        with conn.cursor().copy(
            "COPY (SELECT r.content FROM fhir_search_res s JOIN fhir_gateway_resource r ON r.id = s.resource_id "
            "ORDER BY s.rtype, s.resource_id) TO STDOUT"
        ) as copy:
            for chunk in copy:
                out.write(chunk)
                raw_bytes += len(chunk)
    raw_seconds = time.perf_counter() - started
    (folder / "raw.ndjson").unlink()

    job_id = _django(JOB, env=env)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seconds = float(_django(RUN, job_id, env=env))
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with psycopg.connect(url) as conn:
        status, done = conn.execute("SELECT status, done FROM fhir_bulk_exportjob WHERE id = %s", [job_id]).fetchone()
        files, exported, size = conn.execute(
            "SELECT count(*), sum(count)::bigint, sum(size)::bigint FROM fhir_bulk_exportfile WHERE job_id = %s",
            [job_id],
        ).fetchone()
    lines = sum(1 for path in folder.rglob("*.ndjson") for _line in path.open("rb"))
    print(f"export: status {status}, {exported:,} resources in {files} files ({size / 1e6:,.0f} MB), "
          f"{lines:,} lines on disk")  # fmt: skip
    if exported != total or lines != total:
        print(f"MISMATCH: the corpus holds {total:,} resources")
    rate, raw_rate = exported / seconds, total / raw_seconds
    print(f"hub export: {seconds:.1f} s, {rate:,.0f} resources/s; worker peak RSS {peak_kib / 1024:,.0f} MiB "
          f"(the previous child processes' peak: {before / 1024:,.0f} MiB)")  # fmt: skip
    print(f"raw COPY out: {raw_seconds:.1f} s, {raw_rate:,.0f} resources/s ({raw_bytes / 1e6:,.0f} MB)")
    print(f"ratio hub/raw: {rate / raw_rate:.2f}")
    subprocess.run(["rm", "-rf", str(folder)], check=False)


if __name__ == "__main__":
    main()
