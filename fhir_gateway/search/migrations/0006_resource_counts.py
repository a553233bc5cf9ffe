"""Per (type, owner) resource counts kept by statement triggers on ``fhir_search_res`` (``SearchCount``)."""

from django.db import migrations, models

# One INSERT per write statement and (type, owner) it touched; transition tables give the statement's rows.
FUNCTIONS = """
CREATE FUNCTION fhir_search_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fhir_search_count (rtype, owner, n) SELECT rtype, owner, count(*) FROM added GROUP BY rtype, owner;
    RETURN NULL;
END $$;
CREATE FUNCTION fhir_search_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fhir_search_count (rtype, owner, n) SELECT rtype, owner, -count(*) FROM removed GROUP BY rtype, owner;
    RETURN NULL;
END $$;
CREATE FUNCTION fhir_search_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fhir_search_count (rtype, owner, n)
    SELECT rtype, owner, sum(n) FROM (
        SELECT rtype, owner, 1 AS n FROM added UNION ALL SELECT rtype, owner, -1 FROM removed
    ) changed GROUP BY rtype, owner HAVING sum(n) <> 0;
    RETURN NULL;
END $$;
CREATE FUNCTION fhir_search_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM fhir_search_count;
    RETURN NULL;
END $$;
CREATE TRIGGER fhir_search_count_insert AFTER INSERT ON fhir_search_res
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION fhir_search_count_insert();
CREATE TRIGGER fhir_search_count_delete AFTER DELETE ON fhir_search_res
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION fhir_search_count_delete();
CREATE TRIGGER fhir_search_count_update AFTER UPDATE ON fhir_search_res
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION fhir_search_count_update();
CREATE TRIGGER fhir_search_count_truncate AFTER TRUNCATE ON fhir_search_res
    FOR EACH STATEMENT EXECUTE FUNCTION fhir_search_count_truncate();
"""
# After the triggers, in the same transaction: writers wait for it, so nothing is counted twice or missed.
FILL = "INSERT INTO fhir_search_count (rtype, owner, n) SELECT rtype, owner, count(*) FROM fhir_search_res GROUP BY 1, 2"
REVERSE = """
DROP TRIGGER IF EXISTS fhir_search_count_insert ON fhir_search_res;
DROP TRIGGER IF EXISTS fhir_search_count_delete ON fhir_search_res;
DROP TRIGGER IF EXISTS fhir_search_count_update ON fhir_search_res;
DROP TRIGGER IF EXISTS fhir_search_count_truncate ON fhir_search_res;
DROP FUNCTION IF EXISTS fhir_search_count_insert(), fhir_search_count_delete(), fhir_search_count_update(),
    fhir_search_count_truncate();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('fhir_search', '0005_ucum_quantities_and_text'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rtype', models.TextField()),
                ('owner', models.TextField()),
                ('n', models.BigIntegerField()),
            ],
            options={
                'verbose_name': 'searchable resource count',
                'db_table': 'fhir_search_count',
                'indexes': [models.Index(fields=['rtype', 'owner'], name='fhir_search_count_type')],
            },
        ),
        migrations.RunSQL([FUNCTIONS, FILL], [REVERSE]),
    ]
