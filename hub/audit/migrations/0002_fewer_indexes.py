"""Audit indexes: (site | owner | patient, time) instead of one plain and one pattern index per column."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # the new indexes are built without locking writes

    dependencies = [
        ('audit', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='actor_site',
            field=models.CharField(blank=True, max_length=64, verbose_name="actor's site"),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='owner',
            field=models.CharField(blank=True, max_length=64, verbose_name='record owner'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='patient',
            field=models.CharField(blank=True, max_length=100, verbose_name='patient'),
        ),
        AddIndexConcurrently(
            model_name='auditevent',
            index=models.Index(fields=['actor_site', 'recorded_at'], name='audit_site_time'),
        ),
        AddIndexConcurrently(
            model_name='auditevent',
            index=models.Index(fields=['owner', 'recorded_at'], name='audit_owner_time'),
        ),
        AddIndexConcurrently(
            model_name='auditevent',
            index=models.Index(fields=['patient', 'recorded_at'], name='audit_patient_time'),
        ),
    ]
