"""The long-lived processes settle their heap once started (hub/heap.py): checked in fresh interpreters, as the
ASGI server's and Celery's workers start."""

import os
import subprocess
import sys
from pathlib import Path

from hub import heap

ROOT = Path(__file__).resolve().parents[2]

REPORT = "import gc; print(gc.get_freeze_count(), gc.get_threshold()[0])"


def _run(code: str) -> tuple[int, int]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hub.settings.base"}
    output = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    return int(output[-2]), int(output[-1])


def test_the_asgi_application_freezes_what_start_up_built():
    frozen, young = _run("import hub.asgi")
    # The validator's tables and the index plans are built before the freeze, so they are among the frozen.
    assert frozen > 300_000
    assert young == heap.YOUNG_THRESHOLD != 700  # CPython's default


def test_a_celery_worker_settles_before_its_pool_forks():
    frozen, young = _run(
        "import django; django.setup()\n"
        "from celery.signals import worker_init\n"
        "from hub.celery import app\n"
        "from fhir_gateway.search import definitions, extract\n"
        "worker_init.send(sender=None)\n"
        "assert extract.plan.cache_info().currsize == len(definitions.defined_types())"
    )
    assert frozen > 300_000
    assert young == heap.YOUNG_THRESHOLD
