"""Migration operations that change indexes of the large tables while the hub keeps serving.

``CREATE INDEX`` and ``DROP INDEX`` lock writes for as long as they run (about 30 s per index on a
million resources); their ``CONCURRENTLY`` forms do not, but cannot run in a transaction, so a
migration using them sets ``atomic = False``. An index is replaced under the same name by building
the new one beside it, dropping the old one and renaming (a rename takes a brief lock only). A failed
concurrent build leaves an invalid index behind; each operation drops it first, so a re-run goes on.
"""

from __future__ import annotations

from django.db import migrations
from django.db.migrations.operations.base import Operation


def create_index_concurrently(name: str, definition: str, *, state_operations=()) -> Operation:
    """``CREATE INDEX CONCURRENTLY name ON definition`` (``definition``: ``table USING ... (columns) ...``)."""
    return migrations.SeparateDatabaseAndState(
        state_operations=list(state_operations),
        database_operations=[
            migrations.RunSQL(
                [f"DROP INDEX CONCURRENTLY IF EXISTS {name}", f"CREATE INDEX CONCURRENTLY {name} ON {definition}"],
                [f"DROP INDEX CONCURRENTLY IF EXISTS {name}"],
            )
        ],
    )


def _replace(name: str, definition: str) -> list[str]:
    new = f"{name}_new"
    return [
        f"DROP INDEX CONCURRENTLY IF EXISTS {new}",
        f"CREATE INDEX CONCURRENTLY {new} ON {definition}",
        f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        f"ALTER INDEX {new} RENAME TO {name}",
    ]


def replace_index_concurrently(name: str, *, old: str, new: str, state_operations=()) -> Operation:
    """Index ``name`` goes from definition ``old`` to ``new`` (both ``table USING ... (columns) ...``)."""
    return migrations.SeparateDatabaseAndState(
        state_operations=list(state_operations),
        database_operations=[migrations.RunSQL(_replace(name, new), _replace(name, old))],
    )
