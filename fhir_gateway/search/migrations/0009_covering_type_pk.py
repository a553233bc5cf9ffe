"""The (type, primary key) index of searchable resources covers their id and owner (index-only candidate checks)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('fhir_search', '0008_date_range_covering'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='searchresource',
            name='fhir_search_res_type_pk',
        ),
        migrations.AddIndex(
            model_name='searchresource',
            index=models.Index(fields=['rtype', 'resource_id'], include=('fhir_id', 'owner'), name='fhir_search_res_type_pk'),
        ),
    ]
