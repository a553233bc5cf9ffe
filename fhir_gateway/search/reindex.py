"""Rebuild the search index (after a definition changes) in batches, resumably, without blocking writes.

Each batch is one short transaction: it takes a share lock on a slice of resource rows (skipping any a
writer holds: that writer indexes its own rows), rewrites their index rows and records how far it
got in ``ReindexState``, so an interrupted run continues where it stopped.
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
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            sql = "SELECT id, resource_type, content, deleted FROM fhir_gateway_resource WHERE id > %s"
            args: list = [state.last_pk]
            if resource_type:
                sql += " AND resource_type = %s"
                args.append(resource_type)
            cursor.execute(sql + " ORDER BY id LIMIT %s FOR SHARE SKIP LOCKED", [*args, batch_size])
            batch = cursor.fetchall()
            if not batch:
                state.done = True
                state.save(update_fields=["done", "updated"])
                return total
            index_write(
                [
                    IndexRow(pk, kind, None if deleted or content is None else orjson.loads(content))
                    for pk, kind, content, deleted in batch
                ]
            )
            state.last_pk = batch[-1][0]
            state.save(update_fields=["last_pk", "updated"])
        total += len(batch)
        if progress:
            progress(total, state.last_pk)
