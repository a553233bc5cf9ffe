"""``manage.py serve`` as ``make demo`` runs it: the periodic jobs run without a broker, the banner names the
port served, and stopping its process group stops the embedded PostgreSQL too."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from hub.accounts.constants import Role
from hub.referrals.models import DepartmentHead, Referral, SlaBreach
from tests.factories import UserFactory
from tests.hub.referrals.conftest import patient_at_county_a  # noqa: F401, F811
from tests.hub.referrals.test_sla import emergency

ROOT = Path(__file__).resolve().parents[2]
BANNER = re.compile(r"Alliance Hub on http://127\.0\.0\.1:(\d+)/")
# What the hub reads from the environment for its broker and services: unset, as in ``make demo``.
UNSET = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MQTT_URL", "HUB_DEMO_SIMULATORS")


def _serve(env: dict, port: int = 0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as ``make demo`` in a terminal
    )


def _banner(process: subprocess.Popen, timeout: float = 90) -> tuple[int, list[str]]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = BANNER.search(line)
        if found:
            # Keep draining its output: a full pipe would block the hub's logging, and its shutdown with it.
            threading.Thread(target=lines.extend, args=(process.stdout,), daemon=True).start()
            return int(found.group(1)), lines[:]
    raise AssertionError("no banner:\n" + "".join(lines))


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stopping_the_demo_stops_its_embedded_postgres_and_the_banner_names_the_port_served(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in UNSET} | {"HUB_VAR_DIR": str(tmp_path)}
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    asked = taken.getsockname()[1]
    process = _serve(env, port=asked)
    try:
        served, lines = _banner(process)
        assert served != asked and f"port {asked} was taken" in lines[-1]
        with socket.create_connection(("127.0.0.1", served), timeout=5):
            pass  # it is served where the banner says
        postmaster = int((tmp_path / "pgdata" / "postmaster.pid").read_text().split()[0])
        assert _alive(postmaster)

        _stop(process)

        deadline = time.monotonic() + 15
        while _alive(postmaster) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(postmaster), "the embedded PostgreSQL outlived the demo"
        assert not (tmp_path / "pgdata" / "postmaster.pid").exists()
    finally:
        _stop(process)
        taken.close()


@pytest.fixture
def head_of_cardiology(general_hospital, cardiology):
    head = UserFactory(username="director_sun", role=Role.SPECIALIST, site=general_hospital, department=cardiology)
    DepartmentHead.objects.create(department=cardiology, head=head)
    return head


@pytest.mark.django_db(transaction=True)
def test_serve_without_a_broker_runs_the_sla_escalation(
    dr_li_at_county_a,
    cardiologist_zhang,
    head_of_cardiology,
    patient_at_county_a,  # noqa: F811
):
    referral = emergency(dr_li_at_county_a, patient_at_county_a)  # due ten minutes after a night long past
    assert referral.sla_due_at < timezone.now() - timedelta(days=1)
    database = connection.settings_dict
    url = f"postgresql://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    env = {k: v for k, v in os.environ.items() if k not in UNSET} | {"DATABASE_URL": url}
    process = _serve(env)
    try:
        _port, lines = _banner(process)
        assert any("Periodic jobs" in line for line in lines)
        deadline = time.monotonic() + 60
        while not SlaBreach.objects.filter(referral=referral).exists() and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        _stop(process)
    breach = SlaBreach.objects.get(referral=referral)
    assert breach.kind == "accept" and breach.escalated_to == head_of_cardiology
    assert Referral.objects.get(pk=referral.pk).owner == head_of_cardiology
