"""Running simulated county sites for the demo and the command line: serve, change records, fail on cue."""

from __future__ import annotations

import logging
import random
import threading
import time

from federation.simulator.data import records_change, site_populate
from federation.simulator.server import SiteSimulator

logger = logging.getLogger(__name__)


def simulator_start(
    *, site: str, region: str, district: str, patients: int, records_per_patient: int = 4, port: int = 0, seed: int = 1
) -> SiteSimulator:
    sim = SiteSimulator(site=site, port=port)
    site_populate(
        sim.store, site=site, region=region, district=district, patients=patients,
        records_per_patient=records_per_patient, seed=seed,
    )  # fmt: skip
    return sim.start()


def changes_loop_start(sims: list[SiteSimulator], *, every: float, changes: int, seed: int = 7) -> threading.Thread:
    """A daemon thread that changes ``changes`` records at each site every ``every`` seconds."""
    rng = random.Random(seed)

    def loop() -> None:
        while True:
            time.sleep(every)
            for sim in sims:
                try:
                    records_change(sim.store, rng, count=changes)
                except Exception:  # the demo keeps going whatever one site does
                    logger.exception("changing records at %s failed", sim.site)

    thread = threading.Thread(target=loop, name="sim-changes", daemon=True)
    thread.start()
    return thread
