"""Shared by the FHIR gateway benchmarks: a scratch database, a uvicorn server, a bearer token.

The scratch database is ``<DATABASE_URL's database>_fhir_bench`` on the same PostgreSQL server,
recreated and migrated on every run; the hub is served by uvicorn with several workers, exactly
as ``manage.py serve`` runs it.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable


def scratch_database() -> str:
    """Recreate the scratch database and return its URL."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the benchmark creates <db>_fhir_bench there).")
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_fhir_bench"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    bench_url = urlunsplit(parts._replace(path=f"/{name}"))
    env = {**os.environ, "DATABASE_URL": bench_url, "DJANGO_SETTINGS_MODULE": "hub.settings.base"}
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    return bench_url


def bench_token(database_url: str) -> str:
    """A bearer token of a platform operator (the hub's superuser role) in the scratch database."""
    code = (
        "from federation.sites.constants import SiteKind\n"
        "from federation.sites.models import Site\n"
        "from hub.accounts.constants import Role\n"
        "from hub.accounts.models import User\n"
        "from hub.accounts.services import api_token_create, user_create\n"
        "site, _ = Site.objects.get_or_create(code='alliance', defaults={'name': 'Alliance', 'kind': SiteKind.ALLIANCE})\n"
        "user = User.objects.filter(username='bench_operator').first() or user_create(username='bench_operator',"
        " password=None, role=Role.SITE_ADMIN, site=site, display_name='Benchmark', is_superuser=True)\n"
        "print(api_token_create(user=user, name='bench')[1])\n"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "hub.settings.base"}
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


class Server:
    """``uvicorn hub.asgi:application`` with ``workers`` processes, as a context manager."""

    def __init__(self, database_url: str, *, workers: int = 2, port: int = 8765):
        self.database_url, self.workers, self.port = database_url, workers, port

    def __enter__(self) -> Server:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "DATABASE_POOL_MAX": "14",
            "DJANGO_SETTINGS_MODULE": "hub.settings.base",
            "LOG_LEVEL": "WARNING",
        }
        command = [PYTHON, "-m", "uvicorn", "hub.asgi:application", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(self.workers), "--no-access-log", "--log-level", "warning", "--lifespan", "off"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/fhir/metadata")
                if connection.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        sys.exit("The server did not start")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def machine() -> str:
    cpus = os.cpu_count()
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
        version = connection.execute("SHOW server_version").fetchone()[0]
    return f"{cpus} cores ({model}), PostgreSQL {version}, Python {sys.version.split()[0]}, {autogroup()}"


def autogroup() -> str:
    """The kernel's session autogroups, on or off: with them on, PostgreSQL's backends can wait for CPU behind
    the server's processes (deploy/sysctl.d/90-alliance-hub.conf), which shows in every tail latency."""
    try:
        enabled = Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return "autogroups n/a"
    if enabled:
        print("note: kernel.sched_autogroup_enabled = 1 (see deploy/sysctl.d/90-alliance-hub.conf)", file=sys.stderr)
    return "autogroups on" if enabled else "autogroups off"


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used by the server's processes and by PostgreSQL's backends for the scratch database.

    Throughput on a shared machine depends on what else runs; CPU per request does much less, and
    2 cores / (CPU per request) is the rate this machine could sustain with nothing else on it.
    """

    def __init__(self, server: Server, database_url: str):
        self.server, self.database_url = server, database_url

    def _server_pids(self) -> list[int]:
        children = subprocess.run(
            ["pgrep", "-P", str(self.server.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [self.server.process.pid, *map(int, children)]

    def _backend_pids(self) -> list[int]:
        name = urlsplit(self.database_url).path.lstrip("/")
        with psycopg.connect(self.database_url) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
            ).fetchall()
        return [row[0] for row in rows]

    def __enter__(self) -> CpuMeter:
        self.start = {pid: _cpu(pid) for pid in self._server_pids() + self._backend_pids()}
        return self

    def __exit__(self, *exc) -> None:
        server, backends = self._server_pids(), self._backend_pids()
        self.server_seconds = sum(_cpu(pid) - self.start.get(pid, 0.0) for pid in server)
        self.database_seconds = sum(_cpu(pid) - self.start.get(pid, 0.0) for pid in backends)

    def report(self, count: int, unit: str) -> str:
        server, database = self.server_seconds / count * 1000, self.database_seconds / count * 1000
        capacity = 2000 / (server + database) if server + database else 0
        return (
            f"CPU per {unit}: server {server:.2f} ms + PostgreSQL {database:.2f} ms"
            f" -> this 2-core machine alone could sustain ~{capacity:,.0f} {unit}s/s"
        )
