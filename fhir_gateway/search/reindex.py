"""Rebuild the search index (after a definition changes) in batches, resumably, without blocking writes.

Each batch is one short transaction: it takes a share lock on a slice of resource rows, skipping any a
writer holds so that the rebuild never queues behind a write, rewrites their index rows and records
how far it got in ``ReindexState``, so an interrupted run continues where it stopped. The skipped rows
are done at the end, once their writers have finished.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from django.db import connection, transaction

from fhir_gateway.search.indexer import IndexRow, index_write
from fhir_gateway.search.models import ReindexState


def index_rebuild(
    *,
    name: str = "all",
    resource_type: str | None = None,
    batch_size: int = 1000,
    restart: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Reindex every resource (of ``resource_type``) after the last one done; the number reindexed."""
    state, _ = ReindexState.objects.get_or_create(name=name)
    if restart or state.done:
        state.last_pk, state.done = 0, False
        state.save(update_fields=["last_pk", "done", "updated"])
    total, skipped = 0, []
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            sql = "SELECT id FROM fhir_gateway_resource WHERE id > %s"
            args: list = [state.last_pk]
            if resource_type:
                sql += " AND resource_type = %s"
                args.append(resource_type)
            cursor.execute(sql + " ORDER BY id LIMIT %s", [*args, batch_size])
            wanted = [row[0] for row in cursor.fetchall()]
            if not wanted:
                break
            done = _reindex(cursor, wanted, "FOR SHARE SKIP LOCKED")
            skipped += sorted(set(wanted) - done)
            state.last_pk = wanted[-1]
            state.save(update_fields=["last_pk", "updated"])
        total += len(done)
        if progress:
            progress(total, state.last_pk)
    # Rows a writer held: done now, waiting for that writer (its transaction may not have written).
    for start in range(0, len(skipped), batch_size):
        with transaction.atomic(), connection.cursor() as cursor:
            total += len(_reindex(cursor, skipped[start : start + batch_size], "FOR SHARE"))
    state.done = True
    state.save(update_fields=["done", "updated"])
    return total


def _reindex(cursor, pks: list[int], lock: str) -> set[int]:
    cursor.execute(
        f"SELECT id, resource_type, content, deleted FROM fhir_gateway_resource WHERE id = ANY(%s) ORDER BY id {lock}",
        [pks],
    )
    batch = cursor.fetchall()
    index_write(
        [
            IndexRow(pk, kind, None if deleted or content is None else orjson.loads(content))
            for pk, kind, content, deleted in batch
        ]
    )
    return {row[0] for row in batch}
