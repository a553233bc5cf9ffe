"""The processes that are not web servers serve their own counters: ``manage.py devices_ingest`` counts device
messages at ``:HUB_METRICS_PORT/metrics`` (scrapers only, as ``/metrics``), which the web's ``/metrics`` cannot
see when the ingest runs in a container of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import free_port
from tests.hub.devices.test_ingest_mllp import oru
from tests.multiprocess.conftest import ROOT, _database_url, _wait_for

pytestmark = pytest.mark.django_db(transaction=True)  # the ingest process reads the device the test registered


def _count(text: str, protocol: str, outcome: str) -> float:
    for line in text.splitlines():
        if line.startswith("hub_device_messages_total{") and f'protocol="{protocol}"' in line:
            if f'outcome="{outcome}"' in line:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_the_device_ingest_serves_its_message_counts_to_scrapers_only(bound, tmp_path):
    from hub.devices.simulator import mllp_send

    metrics_port, mllp_port = free_port(), free_port()
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hub.settings.base",
        "DATABASE_URL": _database_url(),
        "HUB_METRICS_TOKEN": "scrape-token-for-tests",
        "HUB_METRICS_PORT": str(metrics_port),
        "HUB_DEVICES_MLLP_HOST": "127.0.0.1",
        "HUB_VAR_DIR": str(tmp_path / "var"),
    }
    for name in ("REDIS_URL", "MQTT_URL", "PROMETHEUS_MULTIPROC_DIR"):
        environ.pop(name, None)
    with open(tmp_path / "ingest.log", "wb") as log:
        ingest = subprocess.Popen(
            [sys.executable, "manage.py", "devices_ingest", "--mllp-port", str(mllp_port)],
            cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    token = {"Authorization": "Bearer scrape-token-for-tests"}
    try:
        _wait_for(lambda: httpx.get(url, headers=token, timeout=1).status_code == 200, "the ingest's metrics")
        assert httpx.get(url, timeout=5).status_code == 404  # no token: nothing here
        assert httpx.get(url, headers={"Authorization": "Bearer nope"}, timeout=5).status_code == 404
        import socket

        with socket.create_connection(("127.0.0.1", mllp_port), timeout=10) as sock:
            for n in range(3):
                mllp_send(sock, oru(control_id=f"P{n}", at=time.time() + 1))
            mllp_send(sock, oru(device="no-such-monitor", control_id="P9"))
        scraped = httpx.get(url, headers=token, timeout=5).text
        assert _count(scraped, "mllp", "accepted") == 3, (tmp_path / "ingest.log").read_text()[-2000:]
        assert _count(scraped, "mllp", "refused") == 1
    finally:
        ingest.send_signal(signal.SIGTERM)
        try:
            ingest.wait(20)
        except subprocess.TimeoutExpired:
            ingest.kill()
