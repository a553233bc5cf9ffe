"""The date-range GiST index carries each value's bounds and resource, so a date search never visits the table.

Replaced without locking writes (``fhir_gateway.search.online``)."""

from django.db import migrations

from fhir_gateway.search.online import replace_index_concurrently

OLD = "fhir_search_date USING gist (param, rtype, tstzrange(lo, hi, '[)'))"


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("fhir_search", "0007_covering_reference_target")]

    operations = [replace_index_concurrently("fhir_search_date_range", old=OLD, new=OLD + " INCLUDE (resource_id, lo, hi)")]
