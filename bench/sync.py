"""Sync benchmark: pull a simulated county site holding >= 100,000 resources, then measure incremental lag.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hub_bench .venv/bin/python bench/sync.py --reset

Runs against a scratch database (``--reset`` empties its FHIR and federation tables). The site is a
``SiteSimulator`` on 127.0.0.1 serving real HTTP; the hub pulls it end to end (HTTP, JSON, validation,
versioned storage and search index, Provenance, the master patient index and golden Patients).
Then, while the site changes ``--change-rate`` records a second, incremental syncs run back to back and
the lag from a change at the site to its copy at the hub is measured.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.base")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from federation.simulator.data import records_change  # noqa: E402
from federation.simulator.runner import simulator_start  # noqa: E402
from federation.sites.constants import SiteKind  # noqa: E402
from federation.sites.models import Site  # noqa: E402
from federation.sites.sync_config import SiteSync  # noqa: E402
from federation.sync.pull import site_sync_run  # noqa: E402

TABLES = (
    "fhir_gateway_resourceversion, fhir_gateway_resource, federation_syncrun, federation_synccursor, "
    "federation_deadletter, federation_sitesync, federation_linkevent, federation_matchreview, "
    "federation_mpiblockkey, federation_mpirecord, federation_goldenrecord"
)


def _backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (from /proc; 0 when unreadable)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve_site(patients: int, queue) -> None:
    """The county site in its own process, as in real life (its JSON encoding does not share the hub's core)."""
    django.setup()
    from federation.simulator.runner import simulator_start

    sim = simulator_start(site="county-a", region="411321", district="东川县", patients=patients, records_per_patient=4)
    queue.put((sim.base_url, sim.store.count()))
    threading.Event().wait()


def _sync_types(sync_id: int, types: list[str], queue, go) -> None:
    """One worker: sync ``types`` of the site (as a Celery worker would with split_types on)."""
    django.setup()
    from federation.sync.pull import site_sync_run

    queue.put("ready")
    go.wait()

    t0 = time.perf_counter()
    run = site_sync_run(sync_id=sync_id, resource_types=types)
    queue.put((run.ok, run.stored, run.pages, run.error, time.perf_counter() - t0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=20_000, help="5 resources each (Patient + 4 records)")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--change-rate", type=float, default=20.0, help="records changed per second at the site")
    parser.add_argument("--steady-seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the site by resource type")
    parser.add_argument("--reset", action="store_true", help="empty the FHIR and federation tables first")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    if args.reset:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {TABLES} CASCADE")
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'fhir_search_%%'"
            )
            for (table,) in cursor.fetchall():
                cursor.execute(f'TRUNCATE "{table}" CASCADE')
    t0 = time.perf_counter()
    queue = multiprocessing.get_context("spawn").Queue()
    site_process = multiprocessing.get_context("spawn").Process(
        target=_serve_site, args=(args.patients, queue), daemon=True
    )
    site_process.start()
    base_url, total = queue.get(timeout=600)
    print(
        f"simulated site (own process): {total} resources at {base_url} (generated in {time.perf_counter() - t0:.1f}s)"
    )

    alliance, _ = Site.objects.get_or_create(code="alliance", defaults={"name": "医联体", "kind": SiteKind.ALLIANCE})
    county, _ = Site.objects.get_or_create(
        code="county-a", defaults={"name": "东川县人民医院", "kind": SiteKind.COUNTY, "parent": alliance}
    )
    sync, _ = SiteSync.objects.update_or_create(
        site=county, defaults={"base_url": base_url, "page_size": args.page_size}
    )

    cpu = None
    if args.workers == 1:
        cpu0, pg0 = time.process_time(), _backend_cpu()
        t0 = time.perf_counter()
        run = site_sync_run(sync_id=sync.pk)
        assert run.ok, run.error
        stored, pages = run.stored, run.pages
        cpu = (time.process_time() - cpu0, _backend_cpu() - pg0)
    else:
        # Observations are as many as the other three types together: one worker takes them, the other the rest.
        groups = [["Observation"], ["Patient", "Encounter", "Condition"]][: args.workers]
        spawn = multiprocessing.get_context("spawn")
        results, go = spawn.Queue(), spawn.Event()
        workers = [spawn.Process(target=_sync_types, args=(sync.pk, g, results, go)) for g in groups]
        for worker in workers:
            worker.start()
        assert [results.get(timeout=600) for _ in workers] == ["ready"] * len(workers)
        t0 = time.perf_counter()  # the workers are up (as Celery workers would be): time the sync only
        go.set()
        outcomes = [results.get(timeout=3600) for _ in workers]
        assert all(ok for ok, *_rest in outcomes), outcomes
        stored, pages = sum(o[1] for o in outcomes), sum(o[2] for o in outcomes)
        print("workers' own times: " + ", ".join(f"{o[1]} in {o[4]:.1f}s" for o in outcomes))
    elapsed = time.perf_counter() - t0
    print(
        f"full sync ({args.workers} worker(s)): {stored} resources stored ({pages} pages) in {elapsed:.1f}s = "
        f"{stored / elapsed:.0f} resources/s end to end"
    )

    if cpu is not None:
        per = (cpu[0] + cpu[1]) / stored
        print(
            f"CPU per resource: hub {cpu[0] / stored * 1000:.2f} ms + PostgreSQL {cpu[1] / stored * 1000:.2f} ms; "
            f"an idle machine would sustain ~{1 / per:.0f}/s with one worker, ~{2 / per:.0f}/s with two"
        )
    site_process.terminate()

    # Steady state: a site in this process (so the changes' times are known), already synced once.
    sim = simulator_start(site="county-a", region="411321", district="东川县", patients=200, records_per_patient=4)
    SiteSync.objects.filter(pk=sync.pk).update(base_url=sim.base_url)
    sync.cursors.all().delete()
    assert site_sync_run(sync_id=sync.pk).ok
    stop = threading.Event()
    rng = random.Random(3)

    def change() -> None:
        while not stop.is_set():
            records_change(sim.store, rng, count=1)
            time.sleep(1 / args.change_rate)

    changer = threading.Thread(target=change, daemon=True)
    changer.start()
    lags: list[float] = []
    runs = 0
    deadline = time.monotonic() + args.steady_seconds
    seen = {r["meta"]["lastUpdated"] for rs in sim.store.resources.values() for r in rs.values()}
    while time.monotonic() < deadline:
        started = datetime.now(UTC)
        incremental = site_sync_run(sync_id=sync.pk)
        finished = datetime.now(UTC)
        runs += 1
        assert incremental.ok, incremental.error
        with sim.store.lock:
            stamps = [r["meta"]["lastUpdated"] for rs in sim.store.resources.values() for r in rs.values()]
        for stamp in stamps:
            if True:
                if stamp not in seen and datetime.fromisoformat(stamp.replace("Z", "+00:00")) < started:
                    seen.add(stamp)
                    lags.append((finished - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds())
    stop.set()
    lags.sort()
    print(
        f"steady state: {runs} incremental syncs in {args.steady_seconds:.0f}s with {args.change_rate:.0f} changes/s; "
        f"lag from change to hub p50 {statistics.median(lags):.2f}s, p95 {lags[int(len(lags) * 0.95)]:.2f}s, "
        f"max {lags[-1]:.2f}s over {len(lags)} changes"
    )
    sim.stop()


if __name__ == "__main__":
    main()
