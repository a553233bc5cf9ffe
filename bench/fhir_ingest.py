"""FHIR ingest benchmark: transaction Bundles of ~100 entries over HTTP, several clients at once.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hub make bench-ingest
    (= .venv/bin/python bench/fhir_ingest.py --copies 6 --clients 4 --workers 2)

Loads the Synthea sample (../shared/data/synthea/10-patients, 7,160 resources) into a scratch
database through a real server (uvicorn, several workers): first its directory (Organization,
Location, Practitioner, PractitionerRole), then ``--copies`` copies of its patients and their
records, ids suffixed per copy, each patient's records together, as PUT entries (with the sample's
conditional references to the directory). Every resource is validated (the R4 validator: structure, bindings, invariants, narrative), versioned, indexed and audited. Then, for the ratio, it
COPYs the same JSON into a plain table on the same server. Prints resources/s for both.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import threading
import time
from pathlib import Path

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fhir_server import CpuMeter, Server, bench_token, machine, scratch_database  # noqa: E402
from tests.fhir_gateway.synthea import FIRST, synthea_resources, transaction_bundles  # noqa: E402

DIRECTORY = FIRST[:-1]


def _copied(resources: list[dict], copy: int) -> list[dict]:
    """The non-directory resources with ids (and the references to them) suffixed by ``copy``."""
    ids = {(r["resourceType"], r["id"]) for r in resources}
    references = {f"{t}/{i}": f"{t}/{i}-{copy}" for t, i in ids}

    def rewrite(node):
        if isinstance(node, dict):
            return {
                k: (references.get(v, v) if k == "reference" and isinstance(v, str) else rewrite(v))
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    return [{**rewrite(r), "id": f"{r['id']}-{copy}"} for r in resources]


def _patient_of(resource: dict) -> str:
    if resource["resourceType"] == "Patient":
        return f"Patient/{resource['id']}"
    for element in ("subject", "patient"):
        reference = (resource.get(element) or {}).get("reference", "")
        if reference.startswith("Patient/"):
            return reference
    return "~"


def _by_patient(resources: list[dict]) -> list[dict]:
    """Each patient's records together, the Patient first, as a site sends them."""
    return sorted(resources, key=lambda r: (_patient_of(r), r["resourceType"] != "Patient"))


def _post_all(port: int, token: str, bodies: list[bytes], clients: int) -> list[int]:
    """POST every body to /fhir/ from ``clients`` threads; the HTTP statuses."""
    statuses: list[int] = []
    lock = threading.Lock()
    queue = list(reversed(bodies))
    headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}", "Prefer": "return=minimal"}

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            connection.request("POST", "/fhir/", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            if response.status != 200:
                print(f"  HTTP {response.status}: {payload[:300]!r}", file=sys.stderr)
            with lock:
                statuses.append(response.status)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _raw_copy(database_url: str, resources: list[dict]) -> float:
    lines = [(r["resourceType"], r["id"], orjson.dumps(r).decode()) for r in resources]
    with psycopg.connect(database_url) as connection:
        connection.execute("CREATE TABLE bench_raw_copy (resource_type text, fhir_id text, content jsonb)")
        connection.commit()
        started = time.perf_counter()
        with connection.cursor() as cursor, cursor.copy("COPY bench_raw_copy FROM STDIN") as copy:
            for row in lines:
                copy.write_row(row)
        connection.commit()
        return len(lines) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=6, help="copies of the sample's patients and records")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--size", type=int, default=100, help="entries per transaction Bundle")
    parser.add_argument("--port", type=int, default=8765, help="the server's port")
    args = parser.parse_args()

    resources = synthea_resources()
    directory = [r for r in resources if r["resourceType"] in DIRECTORY]
    clinical = [r for r in resources if r["resourceType"] not in DIRECTORY]
    workload = [r for copy in range(args.copies) for r in _by_patient(_copied(clinical, copy))]
    directory_bodies = [orjson.dumps(b) for b in transaction_bundles(directory, args.size)]
    bodies = [orjson.dumps(b) for b in transaction_bundles(workload, args.size, separate=DIRECTORY)]
    database_url = scratch_database()
    token = bench_token(database_url)
    print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.1f}")
    with Server(database_url, workers=args.workers, port=args.port) as server:
        _post_all(server.port, token, directory_bodies, 1)
        with CpuMeter(server, database_url) as meter:
            started = time.perf_counter()
            statuses = _post_all(server.port, token, bodies, args.clients)
            elapsed = time.perf_counter() - started
    failed = sum(1 for s in statuses if s != 200)
    rate = len(workload) / elapsed
    copy_rate = _raw_copy(database_url, workload)
    print(
        f"ingest: {len(workload)} resources in {len(bodies)} transaction Bundles of {args.size}, {args.clients} clients,"
        f" {args.workers} workers: {elapsed:.1f} s, {rate:,.0f} resources/s ({failed} failed Bundles)"
    )
    print(meter.report(len(workload), "resource"))
    print(f"raw COPY of the same JSON: {copy_rate:,.0f} rows/s; gateway/COPY = {rate / copy_rate:.1%}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
