"""The date-range GiST index carries each value's bounds and resource, so a date search never visits the table."""

from django.db import migrations

OLD = "CREATE INDEX fhir_search_date_range ON fhir_search_date USING gist (param, rtype, tstzrange(lo, hi, '[)'))"


class Migration(migrations.Migration):
    dependencies = [("fhir_search", "0007_covering_reference_target")]

    operations = [
        migrations.RunSQL(
            ["DROP INDEX IF EXISTS fhir_search_date_range", OLD + " INCLUDE (resource_id, lo, hi)"],
            ["DROP INDEX IF EXISTS fhir_search_date_range", OLD],
        )
    ]
