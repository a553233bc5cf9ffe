"""Data for the referral notification benchmark (run inside ``manage.py shell`` by referral_notify.py)."""

from __future__ import annotations

import json
import random

from federation.identity.services import patients_index
from federation.sites.constants import SiteKind, Specialty
from federation.sites.models import Department, Site
from fhir_gateway import services as fhir
from fhir_gateway.context import INTERNAL_ACTOR
from hub.accounts.constants import Role
from hub.accounts.services import api_token_create, user_create
from hub.demo.people import person_generate, person_to_fhir


def setup(*, specialists: int, doctors: int, patients: int) -> None:
    alliance = Site.objects.create(code="alliance", name="医联体", kind=SiteKind.ALLIANCE)
    general = Site.objects.create(code="general", name="总医院", kind=SiteKind.GENERAL, parent=alliance)
    county = Site.objects.create(code="county-a", name="东川县人民医院", kind=SiteKind.COUNTY, parent=alliance)
    cardiology = Department.objects.create(
        site=general, code="cardiology", name="心内科", specialty=Specialty.CARDIOLOGY
    )
    specialist_tokens = []
    for n in range(specialists):
        user = user_create(
            username=f"cardio{n}",
            password=None,
            role=Role.SPECIALIST,
            site=general,
            department=cardiology,
            display_name=f"心内科{n}",
        )
        specialist_tokens.append(api_token_create(user=user)[1])
    doctor_tokens = []
    for n in range(doctors):
        user = user_create(
            username=f"county{n}", password=None, role=Role.COUNTY_DOCTOR, site=county, display_name=f"县医生{n}"
        )
        doctor_tokens.append(api_token_create(user=user)[1])
    rng = random.Random(20261126)
    stored = []
    for n in range(patients):
        person = person_generate(rng, region="411321", city="示范市", district="东川县")
        resource = person_to_fhir(person, mrn_system="urn:alliance:site:county-a:mrn", mrn=f"A{n:06d}")
        stored.append(fhir.resource_create(resource=resource, actor=INTERNAL_ACTOR, owner=county.code).resource)
    # In the master patient index already, as a site's Patients are once synchronised: a request naming a
    # Patient the index has not seen indexes it on the spot, under the index's lock (one at a time, until
    # the request's transaction ends), which is not what this benchmark measures.
    patients_index(site=county.code, patients=stored)
    refs = [f"Patient/{resource['id']}" for resource in stored]
    print(json.dumps({"specialists": specialist_tokens, "doctors": doctor_tokens, "patients": refs}))
