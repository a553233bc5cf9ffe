"""``manage.py fhir_reindex``: rebuild the FHIR search index in batches (resumable, writes keep going)."""

from django.core.management.base import BaseCommand

from fhir_gateway.search.reindex import index_rebuild


class Command(BaseCommand):
    help = "Rebuild the FHIR search index in batches; an interrupted run resumes where it stopped."

    def add_arguments(self, parser):
        parser.add_argument("--type", dest="resource_type", help="only this resource type")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--restart", action="store_true", help="start over instead of resuming")

    def handle(self, *args, resource_type=None, batch_size=1000, restart=False, **options):
        name = f"type:{resource_type}" if resource_type else "all"

        def progress(done: int, last_pk: int) -> None:
            self.stdout.write(f"{done} reindexed (up to resource {last_pk})")

        done = index_rebuild(
            name=name, resource_type=resource_type, batch_size=batch_size, restart=restart, progress=progress
        )
        self.stdout.write(self.style.SUCCESS(f"Search index rebuilt: {done} resources."))
