"""The Synthea sample (../shared/data/synthea/10-patients) as transaction Bundles, for tests and benchmarks."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

# ../shared/data beside the checkout; HUB_SHARED_DATA names it elsewhere (a worktree under another folder).
SHARED_DATA = Path(os.environ.get("HUB_SHARED_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data")
SYNTHEA = SHARED_DATA / "synthea" / "10-patients"
# Directory resources first: clinical records refer to them with conditional references.
FIRST = ("Organization", "Location", "Practitioner", "PractitionerRole", "Patient")


def synthea_resources(folder: Path = SYNTHEA) -> list[dict]:
    rank = {name: position for position, name in enumerate(FIRST)}
    files = sorted(folder.glob("*.ndjson"), key=lambda f: (rank.get(f.name.split(".")[0], len(FIRST)), f.name))
    resources = []
    for path in files:
        if path.name.startswith("log"):
            continue
        resources += [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    return resources


def transaction_bundles(resources: list[dict], size: int = 100, *, separate: tuple[str, ...] = FIRST) -> list[dict]:
    """PUT entries (Synthea's ids kept), ``size`` per Bundle, never mixing a ``separate`` type with the rest."""
    bundles, current, current_group = [], [], None
    for resource in resources:
        group = resource["resourceType"] if resource["resourceType"] in separate else "clinical"
        if current and (len(current) >= size or group != current_group):
            bundles.append(current)
            current = []
        current_group = group
        current.append(
            {
                "fullUrl": f"{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
            }
        )
    if current:
        bundles.append(current)
    return [{"resourceType": "Bundle", "type": "transaction", "entry": entries} for entries in bundles]
