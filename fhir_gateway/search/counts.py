"""Exact resource counts per type (and owner) without counting rows: the sums of ``fhir_search_count``.

An unfiltered ``_summary=count`` or ``_total=accurate`` (``Observation?_summary=count``, or one scoped to
the owners an actor may see) reads the deltas the triggers on ``fhir_search_res`` appended, instead of
scanning an index of every resource of the type. The sum is exact: the deltas are written in the same
transaction as the rows they count.
"""

from __future__ import annotations

from django.db import connection

# Deltas of one type beyond which a read folds them into one row per owner (a short DELETE + INSERT).
FOLD_AFTER = 200
_FOLD = """
WITH folded AS (DELETE FROM fhir_search_count WHERE rtype = ANY(%s) RETURNING rtype, owner, n)
INSERT INTO fhir_search_count (rtype, owner, n)
SELECT rtype, owner, sum(n) FROM folded GROUP BY rtype, owner HAVING sum(n) <> 0
"""


def total(types: list[str] | None, owners: frozenset[str] | None) -> int:
    """Searchable resources of ``types`` (every type when None) owned by ``owners`` (any when None)."""
    sql, args = "SELECT coalesce(sum(n), 0), count(*) FROM fhir_search_count WHERE TRUE", []
    if types is not None:
        sql += " AND rtype = ANY(%s)"
        args.append(types)
    if owners is not None:
        sql += " AND owner = ANY(%s)"
        args.append(sorted(owners))
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        count, deltas = cursor.fetchone()
        if deltas > FOLD_AFTER * max(1, len(types or [])) and not connection.in_atomic_block:
            _fold(cursor, types)
    return int(count)


def fold() -> int:
    """Fold every type's deltas into one row per (type, owner); the number of rows left. A read folds the
    types it counts; this bounds the deltas of types nobody counts (a periodic task, ``fhir_gateway.tasks``)."""
    with connection.cursor() as cursor:
        _fold(cursor, None)
        cursor.execute("SELECT count(*) FROM fhir_search_count")
        return cursor.fetchone()[0]


def _fold(cursor, types: list[str] | None) -> None:
    # Concurrent writers only append, and a second fold skips the rows the first one deleted.
    cursor.execute(_FOLD, [types] if types is not None else [_all_types(cursor)])


def _all_types(cursor) -> list[str]:
    cursor.execute("SELECT DISTINCT rtype FROM fhir_search_count")
    return [row[0] for row in cursor.fetchall()]
