"""Statistics the planner needs to estimate index rows well (a code is rare or common per parameter)."""

from django.db import migrations

STATEMENTS = [
    "ALTER TABLE fhir_search_token ALTER COLUMN code SET STATISTICS 1000",
    "ALTER TABLE fhir_search_string ALTER COLUMN norm SET STATISTICS 1000",
    "CREATE STATISTICS fhir_search_token_stats (dependencies, mcv) ON param, code, system FROM fhir_search_token",
    "CREATE STATISTICS fhir_search_ref_stats (dependencies, mcv) ON param, rtype, target_type FROM fhir_search_reference",
    "CREATE STATISTICS fhir_search_date_stats (dependencies, mcv) ON param, rtype FROM fhir_search_date",
]
REVERSE = [
    "DROP STATISTICS IF EXISTS fhir_search_token_stats",
    "DROP STATISTICS IF EXISTS fhir_search_ref_stats",
    "DROP STATISTICS IF EXISTS fhir_search_date_stats",
]


class Migration(migrations.Migration):
    dependencies = [("fhir_search", "0003_res_type_pk_index")]

    operations = [migrations.RunSQL(STATEMENTS, REVERSE)]
