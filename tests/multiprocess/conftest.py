"""Several hub processes, one hub: server processes and Celery workers as separate operating-system
processes on this machine, sharing the test database and a real Redis (Channels layer and broker).

``hub_cluster`` starts three uvicorn servers and two Celery workers once per session (skipped without
``REDIS_URL``); tests take ``transactional_db`` so that the processes see what the test wrote. The
processes run the production settings (``hub.settings.base``) pointed at the test database, with a Redis
database of their own for the broker, the channel layer and the cache.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SERVERS = 3
WORKERS = 2


def _redis_url_for_cluster() -> str:
    """The session's Redis, on a database number of its own (the suite's other tests use the given one)."""
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set: several hub processes share their channel layer and broker in Redis")
    parts = urlsplit(url)
    number = int(parts.path.lstrip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(number + 8) % 16}"))


def _database_url() -> str:
    from django.db import connection

    settings = connection.settings_dict
    host = settings.get("HOST") or ""
    user = settings.get("USER") or "postgres"
    if not host or host.startswith("/"):
        socket_dir = host or "/var/run/postgresql"
        return f"postgresql://{user}@/{settings['NAME']}?host={socket_dir}&port={settings.get('PORT') or 5432}"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgresql://{user}{password}@{host}:{settings.get('PORT') or 5432}/{settings['NAME']}"


@dataclass
class Cluster:
    """The processes of one hub: ``servers`` (base URLs) and ``workers``, and how to restart any of them."""

    environ: dict
    redis_url: str
    servers: list[str] = field(default_factory=list)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: Path | None = None

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(command, cwd=ROOT, env=self.environ, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def server_start(self, index: int, port: int | None = None) -> str:
        port = port or free_port()
        self._spawn(
            f"server{index}",
            [PYTHON, "-m", "uvicorn", "hub.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--lifespan", "off", "--log-level", "warning"],
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        _wait_for(lambda: httpx.get(f"{url}/livez", timeout=1).status_code == 200, f"server {index}")
        return url

    def worker_start(self, index: int) -> subprocess.Popen:
        return self._spawn(
            f"worker{index}",
            [PYTHON, "-m", "celery", "-A", "hub", "worker", "--pool", "threads", "--concurrency", "2",
             "--hostname", f"worker{index}@%h", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        )  # fmt: skip

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        process.send_signal(sig)
        process.wait(30)

    def workers_ready(self, app, count: int = WORKERS, timeout: float = 60) -> None:
        def answered() -> bool:
            replies = app.control.ping(timeout=1) or []
            return len(replies) >= count

        _wait_for(answered, f"{count} Celery workers")

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for(check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as error:  # not up yet
            last = error
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up in {timeout} s ({last})")


@pytest.fixture(scope="session")
def hub_cluster(django_db_setup, django_db_blocker, tmp_path_factory):
    redis_url = _redis_url_for_cluster()
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    with django_db_blocker.unblock():
        database_url = _database_url()
    var = tmp_path_factory.mktemp("cluster-var")
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hub.settings.base",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CHANNELS_PREFIX": "hub-cluster",
        "AUDIT_DEFER_READS": "false",
        "HUB_VAR_DIR": str(var),  # its own folders: the repository's var/ is the demo's
        "AUDIT_SPOOL_DIR": str(var / "audit-spool"),
        "HUB_LANGUAGE": "en",
        "PYTHONUNBUFFERED": "1",
    }
    environ.pop("MQTT_URL", None)
    cluster = Cluster(environ=environ, redis_url=redis_url, logs=tmp_path_factory.mktemp("cluster-logs"))
    try:
        for index in range(WORKERS):
            cluster.worker_start(index)
        cluster.servers = [cluster.server_start(index) for index in range(SERVERS)]
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster_celery(hub_cluster):
    """A Celery client of the cluster's broker (tasks are sent by name to the cluster's workers)."""
    from celery import Celery

    # Not the current app: the hub's shared tasks must keep resolving to the hub's own (inline) app.
    client = Celery("hub-cluster-client", broker=hub_cluster.redis_url, set_as_current=False)
    client.conf.task_default_queue = "celery"
    hub_cluster.workers_ready(client)
    yield client
    client.close()
