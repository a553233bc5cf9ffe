"""Quantities in canonical UCUM units (filled on write and by ``fhir_reindex``); the ``_content``/``_text`` words."""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # the indexes on existing tables are built without locking writes

    dependencies = [
        ('fhir_search', '0004_planner_statistics'),
    ]

    operations = [
        migrations.CreateModel(
            name='TextIndex',
            fields=[
                ('pk', models.CompositePrimaryKey('resource_id', 'param', 'seq', blank=True, editable=False, primary_key=True, serialize=False)),
                ('resource_id', models.BigIntegerField()),
                ('param', models.TextField()),
                ('seq', models.IntegerField()),
                ('rtype', models.TextField()),
                ('terms', django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), size=None)),
            ],
            options={
                'db_table': 'fhir_search_text',
            },
        ),
        migrations.AddField(
            model_name='compositeindex',
            name='c2_canon_num',
            field=models.FloatField(null=True),
        ),
        migrations.AddField(
            model_name='compositeindex',
            name='c2_canon_unit',
            field=models.TextField(null=True),
        ),
        migrations.AddField(
            model_name='quantityindex',
            name='canon_unit',
            field=models.TextField(null=True),
        ),
        migrations.AddField(
            model_name='quantityindex',
            name='canon_value',
            field=models.FloatField(null=True),
        ),
        AddIndexConcurrently(
            model_name='quantityindex',
            index=models.Index(condition=models.Q(('canon_unit__isnull', False)), fields=['param', 'canon_unit', 'canon_value'], name='fhir_search_quantity_canon'),
        ),
        migrations.AddIndex(
            model_name='textindex',
            index=django.contrib.postgres.indexes.GinIndex(models.Func('terms', function='array_to_tsvector'), condition=models.Q(('param', '_content')), name='fhir_search_text_content'),
        ),
        migrations.AddIndex(
            model_name='textindex',
            index=django.contrib.postgres.indexes.GinIndex(models.Func('terms', function='array_to_tsvector'), condition=models.Q(('param', '_text')), name='fhir_search_text_text'),
        ),
    ]
