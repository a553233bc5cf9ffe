"""The (type, primary key) index of searchable resources covers their id and owner (index-only candidate checks).

Replaced without locking writes (``fhir_gateway.search.online``)."""

from django.db import migrations, models

from fhir_gateway.search.online import replace_index_concurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('fhir_search', '0008_date_range_covering'),
    ]

    operations = [
        replace_index_concurrently(
            'fhir_search_res_type_pk',
            old='fhir_search_res (rtype, resource_id)',
            new='fhir_search_res (rtype, resource_id) INCLUDE (fhir_id, owner)',
            state_operations=[
                migrations.RemoveIndex(
                    model_name='searchresource',
                    name='fhir_search_res_type_pk',
                ),
                migrations.AddIndex(
                    model_name='searchresource',
                    index=models.Index(fields=['rtype', 'resource_id'], include=('fhir_id', 'owner'), name='fhir_search_res_type_pk'),
                ),
            ],
        ),
    ]
