"""FHIR search benchmark: a fixed query mix at 16 concurrent clients over HTTP, p50/p99 per query.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hub_bench_search \
        .venv/bin/python bench/fhir_search_bench.py --patients 10000 --rounds 20

``--patients`` first generates the corpus (``bench/fhir_search_corpus.py``, 100 resources a patient)
into that database; without it the corpus already there is searched. The benchmark starts the hub
(``bench/fhir_server.Server``: uvicorn, ``--workers`` processes, a connection pool each) on a free
port, signs in as a superuser through a bearer token, and lets ``--clients`` keep-alive connections run the mix
``--rounds`` times, in a different order per client. Every request goes through the whole stack:
token authentication, the audit hook, the search engine, JSON rendering. ``--explain`` prints the
plan of each query's main SQL statement instead (EXPLAIN ANALYZE, in-process).

The mix (values drawn at random from the corpus):
- identifier: ``Patient?identifier=urn:alliance:resident-id|...``
- name-chinese / name-pinyin: ``Patient?name=`` a two-character or pinyin prefix
- obs-patient-code-date: ``Observation?patient=...&code=http://loinc.org|8867-4&date=ge...&date=lt...``
- encounter-date: ``Encounter?date=ge...&date=lt...`` (one week)
- chained: ``Observation?subject:Patient.identifier=...&code=...``
- reverse-chained: ``Patient?name=<surname>&_has:Condition:subject:code=...`` (diabetic patients named 王)
- include: ``Encounter?subject=...&_include=Encounter:subject&_include=Encounter:participant``
- count-observations: ``Observation?_summary=count`` (all observations)
- page-20: ``Observation?code=...&_count=20``, following ``next`` links to page 20 (time of page 20)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.base")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from django.db import connection  # noqa: E402
from pypinyin import lazy_pinyin  # noqa: E402

from bench.fhir_server import Server, machine  # noqa: E402

LOINC = "http://loinc.org"
CODES = ["8867-4", "9279-1", "8310-5", "29463-7", "85354-9", "59408-5"]
CONDITIONS = ["38341003", "44054006", "53741008", "13645005", "195967001", "230690007"]


def sample(rng: random.Random) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM fhir_search_res WHERE rtype = 'Patient'")
        patients = cursor.fetchone()[0]
        cursor.execute(
            "SELECT content->'name'->0->>'text' FROM fhir_gateway_resource WHERE resource_type = 'Patient' "
            "ORDER BY id LIMIT 500"
        )
        names = [row[0] for row in cursor.fetchall() if row[0]]
    if not patients:
        raise SystemExit("No patients: run bench/fhir_search_corpus.py first")
    return {"patients": patients, "names": names}


def queries(rng: random.Random, corpus: dict) -> dict[str, object]:
    def patient() -> int:
        return rng.randrange(corpus["patients"])

    def week() -> tuple[str, str]:
        day = rng.randrange(0, 6 * 365)
        start = time.strftime("%Y-%m-%d", time.gmtime(1546300800 + day * 86400))
        end = time.strftime("%Y-%m-%d", time.gmtime(1546300800 + (day + 7) * 86400))
        return start, end

    def years() -> tuple[str, str]:
        first = rng.randrange(2019, 2025)
        return f"{first}-01-01", f"{first + 2}-01-01"

    return {
        "identifier": lambda: ("Patient", [("identifier", f"urn:alliance:resident-id|4113{patient():014d}")]),
        "name-chinese": lambda: ("Patient", [("name", rng.choice(corpus["names"])[:2])]),
        "name-pinyin": lambda: ("Patient", [("name", "".join(lazy_pinyin(rng.choice(corpus["names"])))[:6])]),
        "obs-patient-code-date": lambda: (
            "Observation",
            [
                ("patient", f"Patient/pat-{patient()}"),
                ("code", f"{LOINC}|{rng.choice(CODES)}"),
                ("date", "ge" + (span := years())[0]),
                ("date", "lt" + span[1]),
            ],
        ),
        "encounter-date": lambda: ("Encounter", [("date", "ge" + (span := week())[0]), ("date", "lt" + span[1])]),
        "chained": lambda: (
            "Observation",
            [
                ("subject:Patient.identifier", f"urn:alliance:resident-id|4113{patient():014d}"),
                ("code", f"{LOINC}|{rng.choice(CODES)}"),
            ],
        ),
        "reverse-chained": lambda: (
            "Patient",
            [
                ("name", rng.choice(corpus["names"])[:1]),
                ("_has:Condition:subject:code", f"http://snomed.info/sct|{rng.choice(CONDITIONS)}"),
            ],
        ),
        "include": lambda: (
            "Encounter",
            [
                ("subject", f"Patient/pat-{patient()}"),
                ("_include", "Encounter:subject"),
                ("_include", "Encounter:participant"),
            ],
        ),
        "count-observations": lambda: ("Observation", [("_summary", "count")]),
        "page-20": lambda: ("Observation", [("code", f"{LOINC}|{rng.choice(CODES)}"), ("_count", "20")]),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_token() -> str:
    from hub.accounts.models import User
    from hub.accounts.services import api_token_create

    user = User.objects.filter(username="bench_search").first()
    if user is None:
        user = User.objects.create_superuser(username="bench_search", password=None, email="")
    return api_token_create(user=user, name="bench")[1]


async def _get(reader, writer, target: str, token: str) -> tuple[int, bytes]:
    writer.write(
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Accept: application/fhir+json\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return int(head[9:12]), await reader.readexactly(length)


async def run_client(index: int, args, port: int, token: str, corpus: dict, results: dict) -> None:
    """One keep-alive connection running the mix ``args.rounds`` times, from its own starting point."""
    rng = random.Random(1000 + index)
    mix = queries(rng, corpus)
    names = list(mix)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for round_number in range(args.rounds):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            resource_type, params = mix[name]()
            target = f"/fhir/{resource_type}?{urlencode(params)}"
            pages = 20 if name == "page-20" else 1
            for page in range(pages):
                started = time.perf_counter()
                status, body = await _get(reader, writer, target, token)
                elapsed = (time.perf_counter() - started) * 1000
                if status != 200:
                    raise SystemExit(f"{target}: {status} {body[:300]!r}")
                if page == pages - 1 and round_number >= args.warmup:
                    results[name].append(elapsed)
                if page < pages - 1:
                    links = orjson.loads(body).get("link", [])
                    following = [link["url"] for link in links if link["relation"] == "next"]
                    if not following:
                        raise SystemExit(f"{target}: no next link on page {page + 1}")
                    target = following[0][following[0].index("/fhir/") :]
    writer.close()


async def run_all(args, port: int, token: str, corpus: dict, results: dict) -> None:
    await asyncio.gather(*(run_client(index, args, port, token, corpus, results) for index in range(args.clients)))


def run_engine(args, corpus: dict, results: dict) -> float:
    """The same mix through ``engine.search`` in-process (``--clients`` threads, one connection each):
    the search engine's own latency, without HTTP, token authentication or the audit trail."""
    import threading

    from fhir_gateway.context import INTERNAL_ACTOR
    from fhir_gateway.search import engine

    def client(index: int) -> None:
        rng = random.Random(1000 + index)
        mix = queries(rng, corpus)
        names = list(mix)
        try:
            for round_number in range(args.rounds):
                for name in names[index % len(names) :] + names[: index % len(names)]:
                    resource_type, params = mix[name]()
                    pages = 20 if name == "page-20" else 1
                    for page in range(pages):
                        started = time.perf_counter()
                        bundle = engine.search(
                            resource_type=resource_type, params=params, actor=INTERNAL_ACTOR, base_url="http://x/fhir"
                        )
                        elapsed = (time.perf_counter() - started) * 1000
                        if page == pages - 1 and round_number >= args.warmup:
                            results[name].append(elapsed)
                        if page < pages - 1:
                            url = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
                            params = parse_qsl(url.split("?", 1)[1])
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(index,)) for index in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def explain(corpus: dict) -> None:
    from fhir_gateway.context import INTERNAL_ACTOR
    from fhir_gateway.search import engine

    rng = random.Random(7)
    statements: list[tuple[str, tuple]] = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    for name, make in queries(rng, corpus).items():
        resource_type, params = make()
        statements.clear()
        with connection.execute_wrapper(capture):
            engine.search(resource_type=resource_type, params=params, actor=INTERNAL_ACTOR, base_url="http://x/fhir")
        main = next(s for s in statements if "fhir_search_res" in s[0])
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING ON) " + main[0], main[1])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"### {name}: {resource_type}?{urlencode(params)}\n```\n{plan}\n```\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=30, help="times each client runs the whole mix")
    parser.add_argument("--warmup", type=int, default=2, help="rounds not counted")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--patients", type=int, help="first (re)generate the corpus with this many patients")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--engine", action="store_true", help="call the engine in-process instead of over HTTP")
    args = parser.parse_args()
    if args.patients:
        import subprocess

        corpus_script = Path(__file__).with_name("fhir_search_corpus.py")
        subprocess.run([sys.executable, str(corpus_script), "--patients", str(args.patients)], check=True)
    corpus = sample(random.Random(1))
    if args.explain:
        explain(corpus)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM fhir_search_res")
        size = cursor.fetchone()[0]
    results: dict[str, list[float]] = defaultdict(list)
    if args.engine:
        connection.close()
        elapsed = run_engine(args, corpus, results)
    else:
        token = bench_token()
        connection.close()
        port = free_port()
        with Server(os.environ["DATABASE_URL"], workers=args.workers, port=port):
            started = time.perf_counter()
            asyncio.run(run_all(args, port, token, corpus, results))
            elapsed = time.perf_counter() - started
    requests = sum(len(v) for v in results.values()) + 19 * len(results.get("page-20", []))
    print(f"{machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"{size:,} resources indexed; {args.clients} clients x {args.rounds} rounds ({args.warmup} not counted); "
        f"{'in-process engine' if args.engine else f'HTTP, {args.workers} workers'}; {elapsed:.0f} s, "
        f"about {requests / elapsed:.0f} requests/s"
    )
    print(f"{'query':<24}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for name, values in results.items():
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(
            f"{name:<24}{len(values):>6}{statistics.median(values):>10.1f}{p99:>10.1f}{statistics.fmean(values):>10.1f}"
        )


if __name__ == "__main__":
    main()
