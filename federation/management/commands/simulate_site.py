"""``manage.py simulate_site``: a county site's FHIR R4 server with synthetic records, in the foreground."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from federation.simulator.runner import changes_loop_start, simulator_start


class Command(BaseCommand):
    help = "Serve a simulated county site's FHIR endpoint (synthetic patients and records, failures on demand)."

    def add_arguments(self, parser):
        parser.add_argument("--site", default="county-a")
        parser.add_argument("--port", type=int, default=8101)
        parser.add_argument("--patients", type=int, default=100)
        parser.add_argument("--records-per-patient", type=int, default=4)
        parser.add_argument("--region", default="411321", help="first six digits of residents' IDs")
        parser.add_argument("--district", default="东川县")
        parser.add_argument("--change-every", type=float, default=30.0, help="seconds between batches of changes")
        parser.add_argument("--changes", type=int, default=3, help="records changed in each batch (0: none)")

    def handle(self, *args, **options):
        sim = simulator_start(
            site=options["site"],
            region=options["region"],
            district=options["district"],
            patients=options["patients"],
            records_per_patient=options["records_per_patient"],
            port=options["port"],
        )
        if options["changes"]:
            changes_loop_start([sim], every=options["change_every"], changes=options["changes"])
        self.stdout.write(f"{options['site']}: {sim.store.count()} resources at {sim.base_url}")
        control = f"http://127.0.0.1:{sim.port}/$sim"
        self.stdout.write(
            f"Failures on demand: curl -X POST {control} -d '{{\"down\": true}}' "
            "(or delay, errors, fail_after, invalid; an empty object {} recovers)"
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            sim.stop()
