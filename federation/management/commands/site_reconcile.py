"""``manage.py site_reconcile --site county-a [--type Observation] [--force]``: delete the hub's copies of a
site's records that the site no longer holds (what the periodic reconciliation refused to do alone)."""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Compare a site's record ids with the hub's copies and delete the copies the site no longer holds."

    def add_arguments(self, parser):
        parser.add_argument("--site", required=True, help="the site's code")
        parser.add_argument("--type", action="append", dest="types", help="resource type (repeatable; default: all)")
        parser.add_argument("--force", action="store_true", help="delete even a large share of the records")

    def handle(self, *args, site: str, types: list[str] | None, force: bool, **options):
        from federation.sites.sync_config import SiteSync
        from federation.sync.client import RetryPolicy, SiteUnavailable, site_client
        from federation.sync.deletions import reconcile

        sync = SiteSync.objects.select_related("site").filter(site__code=site).first()
        if sync is None:
            raise CommandError(f"no sync is configured for site {site!r}")
        policy = RetryPolicy.from_settings()
        with site_client(token=sync.bearer_token, timeout=sync.timeout_seconds) as client:
            for resource_type in types or sync.types:
                try:
                    outcome = reconcile(
                        client=client, sync=sync, resource_type=resource_type, policy=policy, force=force
                    )
                except SiteUnavailable as error:
                    raise CommandError(f"{resource_type}: the site could not list its records: {error}") from error
                if outcome.refused:
                    self.stdout.write(outcome.refused)
                else:
                    self.stdout.write(f"{resource_type}: {outcome.deleted} deleted")
