"""Search-index extraction on write (contract; the search module fills it in).

The storage calls ``index_write`` inside the same database transaction as the resource rows, so a
search right after a write sees it.
"""

from __future__ import annotations

from typing import NamedTuple


class IndexRow(NamedTuple):
    resource_pk: int  # fhir_gateway.Resource primary key
    resource_type: str
    content: dict | None  # None: the resource was deleted, drop its index rows


def index_write(rows: list[IndexRow]) -> None:
    """Replace the index rows of each resource in ``rows`` (batched; called per write or per Bundle)."""
    return None
