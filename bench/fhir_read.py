"""FHIR read benchmark: single-resource reads at 16 concurrent clients, throughput and p50/p99 latency.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hub make bench-read
    (= .venv/bin/python bench/fhir_read.py --clients 16 --seconds 20 --workers 2)

Stores ``--patients`` demo-like Patients in a scratch database through transaction Bundles, then
``--clients`` keep-alive connections each GET ``/fhir/Patient/<random id>`` as fast as the server
answers, after a warm-up. Every read is authenticated, authorised and audited like any other.

The load comes from ``wrk`` (``bench/fhir_read.lua``; Debian's package ``wrk``) when it is installed,
else from a lean asyncio client in this process (``--load python``). The load generator shares the
machine's two cores with the server and PostgreSQL: wrk takes less than half the CPU per request
that the Python client does, so it disturbs less what it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fhir_server import CpuMeter, Server, bench_token, machine, scratch_database  # noqa: E402


def _patients(count: int) -> list[dict]:
    rng = random.Random(20261126)
    return [
        {
            "resourceType": "Patient",
            "id": f"bench-{n}",
            "identifier": [{"system": "urn:alliance:site:county-a:mrn", "value": f"A{n:07d}"}],
            "name": [{"family": rng.choice("王李张刘陈杨"), "given": [rng.choice(["伟", "芳", "娜", "敏", "静"])]}],
            "gender": rng.choice(["male", "female"]),
            "birthDate": f"{rng.randint(1930, 2020)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "telecom": [{"system": "phone", "value": f"138{rng.randrange(10**8):08d}"}],
            "address": [{"city": "示范市", "district": "东川县", "line": [f"东街{n}号"]}],
        }
        for n in range(count)
    ]


def _load(port: int, token: str, patients: list[dict]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"}
    for start in range(0, len(patients), 100):
        entries = [
            {"resource": p, "request": {"method": "PUT", "url": f"Patient/{p['id']}"}}
            for p in patients[start : start + 100]
        ]
        body = orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})
        connection.request("POST", "/fhir/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status


async def _client(
    port: int, token: str, ids: list[str], until: float, warm_until: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random()
    while (now := time.perf_counter()) < until:
        request = (
            f"GET /fhir/Patient/{rng.choice(ids)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nAccept: application/fhir+json\r\n\r\n"
        ).encode()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        elapsed = time.perf_counter() - now
        if now >= warm_until:
            latencies.append(elapsed)
            if status != 200:
                errors.append(status)
    writer.close()


async def _run(port: int, token: str, ids: list[str], clients: int, seconds: float, warmup: float):
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    warm_until, until = start + warmup, start + warmup + seconds
    await asyncio.gather(*(_client(port, token, ids, until, warm_until, latencies, errors) for _ in range(clients)))
    return latencies, errors


def _wrk(port: int, token: str, patients: int, clients: int, seconds: float) -> tuple[int, float, float, float, int]:
    """Run wrk for ``seconds``: (requests, seconds, p50 ms, p99 ms, errors)."""
    script = Path(__file__).with_name("fhir_read.lua")
    command = ["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds:g}s", "-s", str(script)]
    command += [f"http://127.0.0.1:{port}", "--", token, str(patients)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"WRK requests=(\d+) seconds=([\d.]+) p50_us=(\d+) p99_us=(\d+) max_us=\d+ errors=(\d+)", output)
    if match is None:
        sys.exit(f"wrk printed no summary:\n{output}")
    requests, elapsed, p50, p99, errors = match.groups()
    return int(requests), float(elapsed), int(p50) / 1000, int(p99) / 1000, int(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--load", choices=["auto", "wrk", "python"], default="auto", help="load generator (auto: wrk when installed)"
    )
    args = parser.parse_args()
    use_wrk = args.load == "wrk" or (args.load == "auto" and shutil.which("wrk") is not None)

    patients = _patients(args.patients)
    database_url = scratch_database()
    token = bench_token(database_url)
    print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.1f}")
    with Server(database_url, workers=args.workers) as server:
        _load(server.port, token, patients)
        ids = [p["id"] for p in patients]
        if use_wrk:
            _wrk(server.port, token, len(ids), args.clients, args.warmup)  # warm-up
            with CpuMeter(server, database_url) as meter:
                count, elapsed, p50, p99, errors = _wrk(server.port, token, len(ids), args.clients, args.seconds)
        else:
            asyncio.run(_run(server.port, token, ids, args.clients, args.warmup, 0))  # warm-up
            with CpuMeter(server, database_url) as meter:
                latencies, statuses = asyncio.run(_run(server.port, token, ids, args.clients, args.seconds, 0))
            latencies.sort()
            count, elapsed, errors = len(latencies), args.seconds, len(statuses)
            p50 = statistics.median(latencies) * 1000
            p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(
        f"read ({'wrk' if use_wrk else 'asyncio client'}): {count / elapsed:,.0f} reads/s over {elapsed:.0f} s,"
        f" {args.clients} clients, {args.workers} workers; p50 {p50:.1f} ms, p99 {p99:.1f} ms; {errors} errors"
    )
    print(meter.report(count, "read"))
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
