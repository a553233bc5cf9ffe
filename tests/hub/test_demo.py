from django.core.management import call_command

from federation.sites.constants import SiteKind
from federation.sites.models import Department, Site
from hub.accounts.constants import Role
from hub.accounts.models import User


def test_loading_the_demo_twice_neither_fails_nor_duplicates(db):
    call_command("load_demo")
    counts = (Site.objects.count(), Department.objects.count(), User.objects.count())
    call_command("load_demo")
    assert (Site.objects.count(), Department.objects.count(), User.objects.count()) == counts


def test_the_demo_alliance_has_a_general_hospital_four_counties_and_every_role(db):
    call_command("load_demo")
    assert Site.objects.filter(kind=SiteKind.GENERAL).count() == 1
    assert Site.objects.filter(kind=SiteKind.COUNTY).count() >= 4
    roles = set(User.objects.values_list("role", flat=True))
    assert roles >= {Role.COUNTY_DOCTOR, Role.SPECIALIST, Role.OFFICIAL, Role.SITE_ADMIN}
    general = Site.objects.get(kind=SiteKind.GENERAL)
    assert {"emergency", "cardiology", "neurology", "imaging", "icu"} <= set(
        general.departments.values_list("code", flat=True)
    )


def test_demo_users_sign_in_with_the_printed_password(client, db, settings, capsys):
    call_command("load_demo")
    assert settings.DEMO_PASSWORD in capsys.readouterr().out
    assert client.login(username="cardiologist_zhang", password=settings.DEMO_PASSWORD)
