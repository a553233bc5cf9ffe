"""Raw statements prepared on the server: planned once per database connection, not on every call.

For the few statements the rooms run most (a chat entry, a joining socket's state): PostgreSQL spent longer
planning them than running them (pg_stat_statements at 50 rooms of 10: ~0.4 ms to plan a chat entry, ~1 ms a
state, against ~0.2 ms to run). Django's own cursors bind parameters on the client, which cannot be prepared;
these go to the connection Django opened (its transaction, its pool) with a cursor that binds on the server.
"""

from __future__ import annotations

import psycopg
from django.db import connection

# psycopg prepares a statement executed this many times; Django's own cursors never prepare, and the hub's
# other raw cursors are not to be prepared behind their back: only what asks (``prepare=True``) is.
ONLY_WHEN_ASKED = 2**31 - 1


def fetch_one(sql: str, params: dict) -> tuple | None:
    """The first row of ``sql`` (``%(name)s`` parameters), prepared on this connection after its first use.
    Errors are psycopg's own (``psycopg.errors.UniqueViolation``, ...), not Django's."""
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:  # Django opens connections with psycopg's preparing off
        raw.prepare_threshold = ONLY_WHEN_ASKED
    with psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()
