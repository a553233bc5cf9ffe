"""Search-index extraction on write.

The storage calls ``index_write`` inside the same database transaction as the resource rows (after
writing them), so a search right after a write sees it. One batch costs one statement that drops the
old rows plus one COPY per index table, whatever the number of resources.
"""

from __future__ import annotations

from typing import NamedTuple

from django.db import connection

from fhir_gateway.search.extract import extract_rows
from fhir_gateway.search.values import COLUMNS as _COLUMNS
from fhir_gateway.search.values import TABLES

# Index values are clipped so that no row outgrows a btree entry (2,704 bytes): a longer code or URL
# than this is not searchable beyond its first characters, but it never makes a write fail.
MAX_TEXT = 512
_DROP = ",\n".join(f"d_{table} AS (DELETE FROM {table} WHERE resource_id = ANY(%(pks)s))" for table in TABLES)
_REPLACE = f"""
WITH {_DROP},
gone AS (DELETE FROM fhir_search_res WHERE resource_id = ANY(%(pks)s) AND NOT resource_id = ANY(%(live)s))
INSERT INTO fhir_search_res (resource_id, rtype, fhir_id, owner, last_updated)
SELECT id, resource_type, fhir_id, owner, last_updated FROM fhir_gateway_resource
WHERE id = ANY(%(live)s) AND NOT deleted
ON CONFLICT (resource_id) DO UPDATE SET
    rtype = EXCLUDED.rtype, fhir_id = EXCLUDED.fhir_id, owner = EXCLUDED.owner, last_updated = EXCLUDED.last_updated
"""


class IndexRow(NamedTuple):
    resource_pk: int  # fhir_gateway.Resource primary key
    resource_type: str
    content: dict | None  # None: the resource was deleted, drop its index rows


def build_rows(rows: list[IndexRow]) -> dict[str, list[tuple]]:
    """``{table: [(resource_id, param, seq, rtype, *values)]}`` for a batch of resources."""
    out: dict[str, list[tuple]] = {table: [] for table in TABLES}
    for row in rows:
        if row.content is None:
            continue
        for table, values in extract_rows(row.resource_type, row.content).items():
            target = out[table]
            for seq, (param, *rest) in enumerate(values):
                clipped = [value[:MAX_TEXT] if isinstance(value, str) else value for value in rest]
                target.append((row.resource_pk, param, seq, row.resource_type, *clipped))
    return out


def _array_literal(values: list[str]) -> str:
    """PostgreSQL's text form of a ``text[]``: psycopg's own array dumper costs ~20 times more CPU."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def copy_rows(cursor, table_rows: dict[str, list[tuple]]) -> None:
    """COPY the rows into the index tables (``cursor`` is a psycopg cursor)."""
    for table, rows in table_rows.items():
        if not rows:
            continue
        columns = ", ".join(("resource_id", "param", "seq", "rtype", *_COLUMNS[table]))
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                if isinstance(row[-1], list):  # the word arrays of _content and _text
                    row = (*row[:-1], _array_literal(row[-1]))
                copy.write_row(row)


def index_write(rows: list[IndexRow]) -> None:
    """Replace the index rows of each resource in ``rows`` (batched; called per write or per Bundle)."""
    if not rows:
        return
    latest = {row.resource_pk: row for row in rows}  # a Bundle may write one resource twice
    pks = list(latest)
    live = [pk for pk, row in latest.items() if row.content is not None]
    table_rows = build_rows(list(latest.values()))
    with connection.cursor() as cursor:
        cursor.execute(_REPLACE, {"pks": pks, "live": live})
        copy_rows(cursor.cursor, table_rows)
