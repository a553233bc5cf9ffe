"""Opinions go back through the federation's site endpoints: ``SiteEndpoint`` rows become ``SiteSync`` rows.

A site that already has a federation endpoint keeps it (the federation's configuration wins); a site that only had
a write-back endpoint gets one with that URL. Going back, every federation endpoint becomes a write-back endpoint
again, since that is where opinions were delivered.
"""

from django.db import migrations


def endpoints_to_federation(apps, schema_editor):
    SiteEndpoint = apps.get_model("referrals", "SiteEndpoint")
    SiteSync = apps.get_model("federation", "SiteSync")
    configured = set(SiteSync.objects.values_list("site_id", flat=True))
    SiteSync.objects.bulk_create(
        [
            SiteSync(site_id=endpoint.site_id, base_url=endpoint.fhir_base_url, enabled=endpoint.enabled)
            for endpoint in SiteEndpoint.objects.exclude(site_id__in=configured).order_by("pk")
        ]
    )


def endpoints_from_federation(apps, schema_editor):
    SiteEndpoint = apps.get_model("referrals", "SiteEndpoint")
    SiteSync = apps.get_model("federation", "SiteSync")
    SiteEndpoint.objects.bulk_create(
        [
            SiteEndpoint(site_id=sync.site_id, fhir_base_url=sync.base_url, enabled=sync.enabled)
            for sync in SiteSync.objects.order_by("pk")
            if len(sync.base_url) <= 200  # the old field's length
        ]
    )


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0002_referral_person_uid'),
        ('federation', '0004_site_clients'),
    ]

    operations = [
        migrations.RunPython(endpoints_to_federation, endpoints_from_federation),
        migrations.DeleteModel(
            name='SiteEndpoint',
        ),
    ]
