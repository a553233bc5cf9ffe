from django.core.management.base import BaseCommand, CommandError

from hub.accounts.models import User
from hub.accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (usable as 'Authorization: Bearer <token>')."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="a label for the token")

    def handle(self, *args, username: str, name: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive")
        _token, raw = api_token_create(user=user, name=name)
        self.stdout.write(raw)
