"""A GiST index on each date value's range, for date ranges (``date=ge...&date=lt...``); built without locking."""

from django.db import migrations

from fhir_gateway.search.online import create_index_concurrently


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("fhir_search", "0001_index_tables")]

    operations = [
        migrations.RunSQL(["CREATE EXTENSION IF NOT EXISTS btree_gist"], migrations.RunSQL.noop),
        create_index_concurrently(
            "fhir_search_date_range", "fhir_search_date USING gist (param, rtype, tstzrange(lo, hi, '[)'))"
        ),
    ]
