"""The PostgreSQL repository: bulk statements (one per Bundle and table) and JSON text reads.

Runs on Django's connection, inside the caller's transaction, with server-side parameter binding so
that repeated statements are prepared once per connection.
"""

from __future__ import annotations

import orjson
import psycopg
from django.db import connection

from fhir_gateway.storage.repository import Current, HistoryQuery, Stored, VersionRow

RESOURCE = "fhir_gateway_resource"
VERSION = "fhir_gateway_resourceversion"

# Rows travel as one JSON array parameter: the resources' stored JSON text is spliced in as is, with
# no per-value escaping in Python, and PostgreSQL parses it once. Each statement writes the resources
# and their versions together (data-modifying CTEs), so the content crosses the wire once.
_ROWS = """src AS (SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(id bigint, resource_type varchar,
    fhir_id varchar, version_id int, last_updated timestamptz, deleted bool, content jsonb, source varchar,
    owner varchar, method varchar))"""
_VERSIONS = f"""INSERT INTO {VERSION} (resource_id, resource_type, fhir_id, version_id, last_updated, method, deleted,
    content, source, owner, actor_kind, actor_id, actor_display)"""
_INSERT = f"""
WITH {_ROWS},
ins AS (
    INSERT INTO {RESOURCE} (resource_type, fhir_id, version_id, last_updated, deleted, content, source, owner)
    SELECT resource_type, fhir_id, version_id, last_updated, deleted, content, source, owner FROM src
    ON CONFLICT (resource_type, fhir_id) DO NOTHING
    RETURNING id, resource_type, fhir_id
),
ver AS (
    {_VERSIONS}
    SELECT ins.id, src.resource_type, src.fhir_id, src.version_id, src.last_updated, src.method, src.deleted,
           src.content, src.source, src.owner, %(kind)s, %(actor)s, %(display)s
    FROM ins JOIN src ON src.resource_type = ins.resource_type AND src.fhir_id = ins.fhir_id
)
SELECT id, resource_type, fhir_id FROM ins
"""
_UPDATE = f"""
WITH {_ROWS},
upd AS (
    UPDATE {RESOURCE} AS t SET version_id = src.version_id, last_updated = src.last_updated, deleted = src.deleted,
           content = src.content, source = src.source, owner = src.owner
    FROM src WHERE t.id = src.id
    RETURNING t.id
)
{_VERSIONS}
SELECT src.id, src.resource_type, src.fhir_id, src.version_id, src.last_updated, src.method, src.deleted,
       src.content, src.source, src.owner, %(kind)s, %(actor)s, %(display)s
FROM src JOIN upd ON upd.id = src.id
"""
_LOCK = f"""
SELECT id, resource_type, fhir_id, version_id, deleted, owner, last_updated, source FROM {RESOURCE}
WHERE (resource_type, fhir_id) IN (SELECT * FROM unnest(%s::varchar[], %s::varchar[]))
ORDER BY id FOR UPDATE
"""
_CURRENT = f"""
SELECT id, version_id, last_updated, deleted, content::text, owner FROM {RESOURCE}
WHERE resource_type = %s AND fhir_id = %s
"""
_VERSION = f"""
SELECT v.resource_id, v.version_id, v.last_updated, v.deleted, v.content::text, v.owner, v.method
FROM {VERSION} v JOIN {RESOURCE} r ON r.id = v.resource_id
WHERE r.resource_type = %s AND r.fhir_id = %s AND v.version_id = %s
"""


def _rows_json(rows: list[VersionRow]) -> str:
    parts = []
    for r in rows:
        head = orjson.dumps(
            {
                "id": r.pk,
                "resource_type": r.resource_type,
                "fhir_id": r.fhir_id,
                "version_id": r.version_id,
                "last_updated": r.last_updated,
                "deleted": r.content is None,
                "source": r.source,
                "owner": r.owner,
                "method": r.method,
            }
        ).decode()
        parts.append(f'{head[:-1]},"content":{r.text or "null"}}}')
    return "[" + ",".join(parts) + "]"


def _cursor() -> psycopg.Cursor:
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


class PostgresRepository:
    """One PostgreSQL implementation of ``Repository``."""

    def current(self, resource_type: str, fhir_id: str) -> Stored | None:
        with _cursor() as cursor:
            row = cursor.execute(_CURRENT, (resource_type, fhir_id)).fetchone()
        if row is None:
            return None
        pk, version_id, last_updated, deleted, text, owner = row
        return Stored(pk, resource_type, fhir_id, version_id, last_updated, deleted, text, owner)

    def version(self, resource_type: str, fhir_id: str, version_id: int) -> Stored | None:
        with _cursor() as cursor:
            row = cursor.execute(_VERSION, (resource_type, fhir_id, version_id)).fetchone()
        if row is None:
            return None
        pk, version, last_updated, deleted, text, owner, method = row
        return Stored(pk, resource_type, fhir_id, version, last_updated, deleted, text, owner, method)

    def lock(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Current]:
        """Lock the current rows of ``keys`` (in primary-key order, so concurrent writers cannot deadlock)."""
        if not keys:
            return {}
        with _cursor() as cursor:
            rows = cursor.execute(_LOCK, ([k[0] for k in keys], [k[1] for k in keys])).fetchall()
        return {(t, i): Current(pk, v, d, o, lu, src) for pk, t, i, v, d, o, lu, src in rows}

    def contents(self, pks: list[int]) -> dict[int, str]:
        with _cursor() as cursor:
            rows = cursor.execute(f"SELECT id, content::text FROM {RESOURCE} WHERE id = ANY(%s)", (pks,)).fetchall()
        return dict(rows)

    def insert(self, rows: list[VersionRow], *, actor: dict[str, str]) -> dict[tuple[str, str], int]:
        """Insert new resources and their first versions; a key another writer created meanwhile is left out."""
        if not rows:
            return {}
        with _cursor() as cursor:
            inserted = cursor.execute(_INSERT, {"rows": _rows_json(rows), **actor}).fetchall()
        return {(t, i): pk for pk, t, i in inserted}

    def update(self, rows: list[VersionRow], *, actor: dict[str, str]) -> None:
        """Store new versions of existing resources (current row and history)."""
        if not rows:
            return
        with _cursor() as cursor:
            cursor.execute(_UPDATE, {"rows": _rows_json(rows), **actor})

    def history(self, query: HistoryQuery) -> tuple[list[Stored], int]:
        """Versions newest first (http://hl7.org/fhir/R4/http.html#history), and how many match in all."""
        where, params = ["v.last_updated <= %s"], [query.until]
        if query.fhir_id:  # through the resource's primary key: versions are indexed by it, not by id
            where.append(f"v.resource_id = (SELECT id FROM {RESOURCE} WHERE resource_type = %s AND fhir_id = %s)")
            params += [query.resource_type, query.fhir_id]
        elif query.resource_type:
            where.append("v.resource_type = %s")
            params.append(query.resource_type)
        if query.visibility is not None:
            where.append(query.visibility[0])
            params += query.visibility[1]
        if query.since:
            where.append("v.last_updated >= %s")
            params.append(query.since)
        if query.at:
            # _at: the version that was current at that instant.
            where.append(
                f"v.last_updated <= %s AND NOT EXISTS (SELECT 1 FROM {VERSION} w WHERE w.resource_id = v.resource_id"
                " AND w.version_id > v.version_id AND w.last_updated <= %s)"
            )
            params += [query.at, query.at]
        clause = " AND ".join(where)
        with _cursor() as cursor:
            total = cursor.execute(f"SELECT count(*) FROM {VERSION} v WHERE {clause}", params).fetchone()[0]
            rows = cursor.execute(
                f"SELECT v.resource_id, v.resource_type, v.fhir_id, v.version_id, v.last_updated, v.deleted,"
                f" v.content::text, v.owner, v.method FROM {VERSION} v WHERE {clause}"
                " ORDER BY v.last_updated DESC, v.id DESC OFFSET %s LIMIT %s",
                [*params, query.offset, query.count],
            ).fetchall()
        return [Stored(*row) for row in rows], total

    def lock_condition(self, key: str) -> None:
        """Serialise writers using the same conditional criteria (two racing conditional creates make one)."""
        with _cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))

    def lock_conditions(self, keys: list[str]) -> None:
        """``lock_condition`` for each of ``keys`` in one statement (in one order, so two callers never deadlock)."""
        with _cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(h) FROM"
                " (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(%s::text[]) AS k ORDER BY 1) AS keys",
                (keys,),
            )
