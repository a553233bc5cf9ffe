"""``manage.py signing_key_rotate USERNAME [--compromised-since ISO8601]``: retire a clinician's signing key."""

from __future__ import annotations

import getpass
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from hub.accounts.models import User
from hub.api_errors import DomainError
from hub.signatures.services import signing_key_rotate


def _when(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--compromised-since: not an ISO 8601 time: {value!r}") from exc
    if timezone.is_naive(when):
        raise CommandError("--compromised-since needs a time zone, e.g. 2026-12-01T08:00:00+08:00")
    return when


class Command(BaseCommand):
    help = (
        "Retire USERNAME's signing key: their next signature makes a new key. Routinely the key is revoked now "
        "(what it signed stays valid); with --compromised-since, every key of theirs in use since then is revoked "
        "from that time (what was signed since verifies as not valid) and their signing PIN is cleared."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--compromised-since",
            metavar="ISO8601",
            help="when the phone or key may have been compromised, e.g. 2026-12-01T08:00:00+08:00",
        )

    def handle(self, *args, username: str, compromised_since: str | None = None, **options):
        user = User.objects.select_related("site").filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}")
        since = _when(compromised_since) if compromised_since else None
        try:
            by = getpass.getuser()
        except (KeyError, OSError):
            by = ""
        try:
            rotation = signing_key_rotate(user=user, compromised_since=since, by=f"manage.py ({by})" if by else "")
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        at = rotation.revoked_at.isoformat()
        if not rotation.retired:
            self.stdout.write(f"{username} has no signing key in use since {at}: nothing to retire.")
        for key in rotation.retired:
            self.stdout.write(f"retired {key.key_id} of {username}: revoked_at {at}")
        if rotation.compromised:
            self.stdout.write(f"{username}'s signing PIN is cleared: they set a new one on their profile page.")
        self.stdout.write("Their next signature makes a new key.")
