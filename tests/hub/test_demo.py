from django.core.management import call_command

from federation.sites.constants import SiteKind
from federation.sites.models import Department, Site
from fhir_gateway.models import Resource
from hub.accounts.constants import Role
from hub.accounts.models import User


def _patients():
    return Resource.objects.filter(resource_type="Patient", deleted=False)


def test_loading_the_demo_twice_neither_fails_nor_duplicates(db):
    call_command("load_demo")
    counts = (Site.objects.count(), Department.objects.count(), User.objects.count(), _patients().count())
    stored = Resource.objects.count()
    call_command("load_demo")
    assert (Site.objects.count(), Department.objects.count(), User.objects.count(), _patients().count()) == counts
    assert counts[3] == 5 * 24 + 3
    # the second load stores nothing new (records, devices, documents: the same resources as before)
    assert Resource.objects.count() == stored


def test_demo_patients_belong_to_their_county_and_a_few_are_at_two_counties(db):
    call_command("load_demo")
    assert set(_patients().values_list("owner", flat=True)) == {
        "county-a",
        "county-b",
        "county-c",
        "county-d",
        "county-e",
    }
    resident_ids: dict[str, set[str]] = {}
    for patient in _patients():
        mrn = next(i for i in patient.content["identifier"] if i["system"].endswith(":mrn"))
        assert mrn["system"] == f"urn:alliance:site:{patient.owner}:mrn"
        resident = next(i["value"] for i in patient.content["identifier"] if not i["system"].endswith(":mrn"))
        resident_ids.setdefault(resident, set()).add(patient.owner)
    assert sum(1 for owners in resident_ids.values() if len(owners) == 2) == 3


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
    signed_in = client.post("/login/", {"username": "cardiologist_zhang", "password": settings.DEMO_PASSWORD})
    assert signed_in.status_code == 302 and "_auth_user_id" in client.session
