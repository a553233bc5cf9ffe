from django.core.management.base import BaseCommand, CommandError

from hub.audit.seals import audit_seal, audit_verify


class Command(BaseCommand):
    help = "Check the audit trail's hash chain: every sealed row unaltered and present, every seal linked."

    def add_arguments(self, parser):
        parser.add_argument("--seal", action="store_true", help="seal what can be sealed first")

    def handle(self, *args, seal: bool = False, **options):
        if seal:
            audit_seal()
        result = audit_verify()
        self.stdout.write(
            f"{result.seals} seals, {result.rows} sealed rows, {result.unsealed} not sealed yet; head {result.head}"
        )
        if not result.ok:
            for problem in result.problems:
                self.stderr.write(problem)
            raise CommandError(f"the audit trail was tampered with: {len(result.problems)} problem(s)")
        self.stdout.write("audit trail intact")
