"""Every migration can run while the previous release still serves: no index on an existing table is built
in a way that locks writes for the length of the build (deploy/README.md, "Upgrades"): not by ``AddIndex``,
nor by a field with ``db_index``, a foreign key or ``unique`` added to it, nor by a unique constraint. Dropping
an index is allowed: it holds its lock for an instant, not for a scan of the table."""

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


# Built before the rule below covered fields and constraints, on small tables (referrals and break-glass reviews:
# thousands of rows, an index built in well under a second). Nothing may be added to this list.
INDEXED_BEFORE_THE_RULE = {"referrals.0007_opinion_sla", "access.0002_break_glass_review"}


def _builds_index(field) -> bool:
    """A column Django indexes: ``db_index`` (every foreign key by default) or ``unique``."""
    return not field.primary_key and bool(field.db_index or field.unique)


def _field_and_constraint_indexes(loader, app, name, migration, created) -> list[str]:
    """Indexes built by adding or altering a field, or adding a unique or exclusion constraint, on a table that
    exists already: Django builds them with a plain CREATE INDEX (or ADD CONSTRAINT), which locks writes."""
    found, before = [], None
    for operation in _flatten(migration.operations):
        model = getattr(operation, "model_name", "") or ""
        if model.lower() in created:
            continue
        where = f"{app}.{name}: {type(operation).__name__} {model}"
        if isinstance(operation, migrations.AddField) and _builds_index(operation.field):
            found.append(f"{where}.{operation.name} builds an index on an existing table (AddIndexConcurrently)")
        elif isinstance(operation, migrations.AlterField) and _builds_index(operation.field):
            before = before or loader.project_state((app, name), at_end=False)
            old = before.models[app, model.lower()].fields[operation.name]
            if not _builds_index(old):
                found.append(f"{where}.{operation.name} adds an index to an existing table (AddIndexConcurrently)")
        elif isinstance(operation, migrations.AddConstraint):
            kind = type(operation.constraint).__name__
            if kind in ("UniqueConstraint", "ExclusionConstraint"):
                found.append(f"{where}: a {kind} builds its index while it locks the table")
    return found


def locking_operations() -> list[str]:
    found = []
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for app, name, migration in _own_migrations():
        created = {op.name.lower() for op in migration.operations if isinstance(op, migrations.CreateModel)}
        if f"{app}.{name}" not in INDEXED_BEFORE_THE_RULE:
            found += _field_and_constraint_indexes(loader, app, name, migration, created)
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


def test_an_indexed_field_or_a_unique_constraint_added_to_an_existing_table_is_refused():
    from django.db import models

    loader = MigrationLoader(None, ignore_no_migrations=True)
    migration = migrations.Migration("0099_example", "referrals")
    migration.operations = [
        migrations.AddField("referral", "ward_code", models.CharField(max_length=8, db_index=True)),
        migrations.AddField("referral", "note", models.CharField(max_length=8, default="")),  # no index: fine
        migrations.AddConstraint(
            "referral", models.UniqueConstraint(fields=["ward_code", "note"], name="referral_ward_note_unique")
        ),
    ]
    found = _field_and_constraint_indexes(loader, "referrals", "0099_example", migration, created=set())
    assert len(found) == 2 and "ward_code" in found[0] and "UniqueConstraint" in found[1], found
