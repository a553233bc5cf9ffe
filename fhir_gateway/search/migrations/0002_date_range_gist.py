"""A GiST index on each date value's range, for date ranges (``date=ge...&date=lt...``)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("fhir_search", "0001_index_tables")]

    operations = [
        migrations.RunSQL(
            [
                "CREATE EXTENSION IF NOT EXISTS btree_gist",
                "CREATE INDEX fhir_search_date_range ON fhir_search_date USING gist (param, rtype, tstzrange(lo, hi, '[)'))",
            ],
            ["DROP INDEX IF EXISTS fhir_search_date_range"],
        )
    ]
