"""The garbage collector of the hub's long-lived processes (the ASGI server's workers, Celery's workers).

A process holds a few hundred thousand long-lived objects once started: the R4 validator's tables and
compiled invariants, the search parameters' plans, Django's URL and model registries. CPython's collector
walks all of them at every full collection, and a transaction Bundle of 100 resources allocates enough to set
one off every few requests. Measured (docs/benchmarks.md, 2026-12-05): 0.15-0.2 s a full walk, and with young
collections every 700 allocations promoting a request's objects into the older generations, about a quarter
of an ingesting worker's CPU went to the collector; every full walk stalls that worker's websockets too.

``settle`` runs once start-up is done: a last full collection, then ``gc.freeze()`` moves every survivor to
the permanent generation, which collections skip, and a higher young-generation threshold lets a request's
objects die young instead of being promoted and walked again. Cycles are still collected; objects created
later are collected as before.
"""

from __future__ import annotations

import gc

# CPython's default is 700; a 100-entry Bundle is ~100,000 allocations. 10,000 and 100,000 were measured too
# (0.41 and 0.33-0.36 ms of server CPU per ingested resource, against 0.35-0.36 here and 0.49-0.52 at 700).
YOUNG_THRESHOLD = 50_000


def settle() -> None:
    """Freeze what start-up built and raise the young generation's threshold (once, after start-up)."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
