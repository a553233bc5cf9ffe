"""CPU per resource spent in validation, in process (no server, no database).

    .venv/bin/python bench/validation_cpu.py                # the whole Synthea sample (7,160 resources), 3 rounds
    .venv/bin/python bench/validation_cpu.py --limit 500 --rounds 1

Runs ``fhir_gateway.validation.resource_check`` (the check every write makes) over the Synthea sample
(../shared/data/synthea/10-patients) and prints the process CPU time per resource (best round), overall
and per resource type; then the whole validation of the ingest benchmark's path (each transaction
Bundle's envelope and entries, and each resource), per resource. The first call also pays for building
the validator (tables, compiled invariants); the rounds report the steady state.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.test")

import django  # noqa: E402

django.setup()

from fhir_gateway import validation  # noqa: E402
from tests.fhir_gateway.synthea import SYNTHEA, synthea_resources, transaction_bundles  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=0, help="validate only the first N resources")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not SYNTHEA.is_dir():
        sys.exit(f"{SYNTHEA} is not present")
    resources = synthea_resources()
    if args.limit:
        resources = resources[: args.limit]
    started = time.process_time()
    validation.resource_check(resources[0])
    print(f"first call (builds the validator): {(time.process_time() - started) * 1e3:.0f} ms CPU")
    best: dict[str, float] = {}
    best_total = float("inf")
    for _round in range(args.rounds):
        per_type: dict[str, float] = defaultdict(float)
        total_started = time.process_time()
        for resource in resources:
            started = time.process_time()
            validation.resource_check(resource)
            per_type[resource["resourceType"]] += time.process_time() - started
        total = time.process_time() - total_started
        if total < best_total:
            best_total, best = total, per_type
    counts: dict[str, int] = defaultdict(int)
    for resource in resources:
        counts[resource["resourceType"]] += 1
    print(
        f"{len(resources)} resources, best of {args.rounds} rounds: {best_total / len(resources) * 1e6:.1f} us CPU per resource"
    )
    for name in sorted(best, key=lambda n: -best[n]):
        print(f"  {name:20} {counts[name]:5} x {best[name] / counts[name] * 1e6:7.1f} us")
    bundles = transaction_bundles(resources)
    envelope = getattr(validation, "envelope_check", lambda bundle: None)  # absent before issue 16
    entry = getattr(validation, "entry_check", lambda index, raw: None)
    best_total = float("inf")
    for _round in range(args.rounds):
        started = time.process_time()
        for bundle in bundles:
            envelope(bundle)
            for index, raw in enumerate(bundle["entry"]):
                entry(index, raw)
                validation.resource_check(raw["resource"])
        best_total = min(best_total, time.process_time() - started)
    print(
        f"ingest path (envelope, entries, resources of {len(bundles)} transaction Bundles):"
        f" {best_total / len(resources) * 1e6:.1f} us CPU per resource"
    )


if __name__ == "__main__":
    main()
