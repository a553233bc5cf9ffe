"""The reference lookup by target covers type and source type, so reverse chains and includes skip the table.

Replaced without locking writes (``fhir_gateway.search.online``)."""

from django.db import migrations, models

from fhir_gateway.search.online import replace_index_concurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('fhir_search', '0006_resource_counts'),
    ]

    operations = [
        replace_index_concurrently(
            'fhir_search_ref_target',
            old='fhir_search_reference (param, target_id)',
            new='fhir_search_reference (param, target_id, target_type, rtype) INCLUDE (resource_id)',
            state_operations=[
                migrations.RemoveIndex(
                    model_name='referenceindex',
                    name='fhir_search_ref_target',
                ),
                migrations.AddIndex(
                    model_name='referenceindex',
                    index=models.Index(fields=['param', 'target_id', 'target_type', 'rtype'], include=('resource_id',), name='fhir_search_ref_target'),
                ),
            ],
        ),
    ]
