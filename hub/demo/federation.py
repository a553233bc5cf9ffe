"""The demo's federation: county sites' FHIR endpoints (simulated), their sync, and the MPI over demo patients.

``demo_federation_load`` (from ``demo_load``) points each county's sync at a local simulator port and
indexes the demo Patients in the master patient index, so the people registered at two counties are
linked. ``demo_simulators_start`` (from ``manage.py serve`` when ``HUB_DEMO_SIMULATORS`` is on) serves
those simulators and syncs them in the background: counties A-C are healthy, D holds an invalid record
(degraded, one dead letter), and E's system is off (down after three attempts).
"""

from __future__ import annotations

import logging
import threading
import time

from federation.identity.services import patients_index
from federation.sites.directory import directory_publish, practitioner_role_publish
from federation.sites.models import Site
from federation.sites.sync_config import SiteSync
from fhir_gateway.public import contents_of, ids_owned
from hub.accounts.models import User
from hub.demo.services import COUNTIES
from hub.env import env_int

logger = logging.getLogger(__name__)
SIMULATOR_PATIENTS = 40
SYNC_EVERY = 30.0  # seconds between sync rounds in the demo
DOWN_SITE = "county-e"  # its system is off in the demo
FLAKY_SITE = "county-d"  # serves one invalid record


def simulator_port(index: int) -> int:
    return env_int("HUB_DEMO_SIMULATOR_PORT", 8101, minimum=1024) + index


def demo_federation_load() -> int:
    """Sync configurations for the counties and the MPI over the demo Patients; returns the syncs configured."""
    for index, (code, *_rest) in enumerate(COUNTIES):
        SiteSync.objects.update_or_create(
            site=Site.objects.get(code=code),
            defaults={"base_url": f"http://127.0.0.1:{simulator_port(index)}/fhir", "interval_seconds": 30},
        )
        ids = ids_owned(resource_type="Patient", owner=code)
        patients_index(site=code, patients=list(contents_of(resource_type="Patient", fhir_ids=ids).values()))
    directory_publish()
    for user in User.objects.filter(site__isnull=False).select_related("site", "department"):
        practitioner_role_publish(
            username=user.username, name=user.display_name or user.username, site=user.site, department=user.department
        )
    return len(COUNTIES)


def demo_simulators_start() -> list:
    """Serve the simulated county sites and sync them every ``SYNC_EVERY`` seconds, in daemon threads."""
    from federation.simulator.runner import changes_loop_start, simulator_start

    sims = []
    for index, (code, _name, _en, region, district) in enumerate(COUNTIES):
        if code == DOWN_SITE:
            continue
        try:
            sim = simulator_start(
                site=code, region=region, district=district, patients=SIMULATOR_PATIENTS, port=simulator_port(index)
            )
        except OSError as error:  # the port is taken: that county simply stays down in the demo
            logger.warning("simulated %s not started: %s", code, error)
            continue
        if code == FLAKY_SITE:
            sim.invalid_add("bp-without-code")
        sims.append(sim)
    changes_loop_start(sims, every=20.0, changes=2)
    from hub.scheduler import embedded_schedule_wanted

    if not embedded_schedule_wanted():  # without a broker the embedded scheduler syncs the due sites already
        threading.Thread(target=_sync_loop, name="demo-sync", daemon=True).start()
    return sims


def _sync_loop() -> None:
    from django.db import close_old_connections

    from federation.sites.health import syncs_due
    from federation.sync.pull import site_sync_run

    while True:
        try:
            for sync_id in syncs_due():
                site_sync_run(sync_id=sync_id)
        except Exception:  # the demo keeps syncing whatever one round does
            logger.exception("demo sync round failed")
        finally:
            close_old_connections()
        time.sleep(SYNC_EVERY)
