import secrets

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Make (or replace) a site's MQTT credentials for its gateway; print the password once, with the lines for "
        "Mosquitto's password file and ACL file (deploy/README.md, 'Bedside devices')."
    )

    def add_arguments(self, parser):
        parser.add_argument("site", help="the site's code, e.g. county-a")
        parser.add_argument("--username", default="", help="default: gw-<site>")

    def handle(self, *args, site, username, **options):
        from federation.sites.models import Site
        from hub.devices.services import mosquitto_acl_lines, mosquitto_password_line, mqtt_credential_set

        record = Site.objects.filter(code=site).first()
        if record is None:
            raise CommandError(f"no site {site}")
        username = username or f"gw-{site}"
        password = secrets.token_urlsafe(24)
        mqtt_credential_set(site=record, username=username, password=password)
        self.stdout.write(f"username: {username}\npassword: {password}\n")
        self.stdout.write("# Mosquitto password file (deploy/secrets/mosquitto_passwd):\n")
        self.stdout.write(mosquitto_password_line(username=username, password=password) + "\n")
        self.stdout.write(
            "# Mosquitto ACL file (deploy/mosquitto.acl):\n" + mosquitto_acl_lines(username=username, site_code=site)
        )
