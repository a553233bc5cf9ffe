from django.conf import settings
from django.core.management.base import BaseCommand

from hub.demo.services import demo_load


class Command(BaseCommand):
    help = "Load the demo alliance (idempotent) and print how to sign in."

    def handle(self, *args, **options):
        password = settings.DEMO_PASSWORD
        summary = demo_load(password=password)
        self.stdout.write(
            f"Demo alliance ready: {summary.sites} sites, {summary.users} users, {summary.patients} patients "
            f"(created now: {summary.created or 'nothing'})."
        )
        self.stdout.write(
            "Sign in at http://127.0.0.1:8000/login/ as cardiologist_zhang, doctor1_a (county A), "
            f"official_wang or hub_admin; demo password: {password}"
        )
