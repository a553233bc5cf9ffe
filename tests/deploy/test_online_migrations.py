"""Every migration can run while the previous release still serves: no index on an existing table is built
in a way that locks writes for the length of the build (README, "Upgrades"). Dropping an index is
allowed: it holds its lock for an instant, not for a scan of the table."""

from __future__ import annotations

import re

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations
from django.db.migrations.loader import MigrationLoader

LOCKING_SQL = re.compile(
    r"\b(CREATE(\s+UNIQUE)?\s+INDEX|REINDEX(\s+(TABLE|INDEX))?)\b(?!\s+CONCURRENTLY)", re.IGNORECASE
)
OWN_APPS = {"fhir_gateway", "fhir_search", "federation", "accounts", "access", "audit", "referrals"}


def _own_migrations():
    loader = MigrationLoader(None, ignore_no_migrations=True)  # the files only, not the database
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        if app in OWN_APPS or not migration.__module__.startswith("django."):
            module = migration.__module__
            if module.startswith(("hub.", "federation.", "fhir_gateway.")):
                yield app, name, migration


def _flatten(operations):
    for operation in operations:
        if isinstance(operation, migrations.SeparateDatabaseAndState):
            yield from _flatten(operation.database_operations)
        else:
            yield operation


def locking_operations() -> list[str]:
    found = []
    for app, name, migration in _own_migrations():
        created = {op.name.lower() for op in migration.operations if isinstance(op, migrations.CreateModel)}
        for operation in _flatten(migration.operations):
            where = f"{app}.{name}"
            if isinstance(operation, AddIndexConcurrently | RemoveIndexConcurrently):
                if migration.atomic:
                    found.append(f"{where}: a concurrent index operation needs atomic = False")
                continue
            if isinstance(operation, migrations.AddIndex):
                if operation.model_name.lower() not in created:
                    found.append(f"{where}: {type(operation).__name__} on an existing table locks writes")
            if isinstance(operation, migrations.RunSQL):
                statements = operation.sql if isinstance(operation.sql, list | tuple) else [operation.sql]
                for statement in statements:
                    text = statement if isinstance(statement, str) else statement[0]
                    if LOCKING_SQL.search(text):
                        found.append(f"{where}: {text[:80]!r} locks writes (use CONCURRENTLY)")
                    elif "CONCURRENTLY" in text.upper() and migration.atomic:
                        found.append(f"{where}: CONCURRENTLY needs atomic = False")
    return found


def test_no_migration_locks_writes_while_it_builds_an_index():
    assert locking_operations() == []
