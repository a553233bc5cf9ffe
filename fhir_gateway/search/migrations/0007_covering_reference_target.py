"""The reference lookup by target covers type and source type, so reverse chains and includes skip the table."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('fhir_search', '0006_resource_counts'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='referenceindex',
            name='fhir_search_ref_target',
        ),
        migrations.AddIndex(
            model_name='referenceindex',
            index=models.Index(fields=['param', 'target_id', 'target_type', 'rtype'], include=('resource_id',), name='fhir_search_ref_target'),
        ),
    ]
