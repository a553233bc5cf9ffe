"""Data for the consultation room benchmark (run inside ``manage.py shell`` by bench/rooms.py): ``rooms``
accepted chest-pain consultations, each room with a county doctor, the responsible cardiologist and
invited experts (``participants`` in all), and a bearer token per participant."""

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
from hub.consultations import services as rooms
from hub.demo.people import person_generate, person_to_fhir
from hub.notifications.events import notifications_muted
from hub.referrals import services as referrals


def setup(*, rooms_count: int, participants: int) -> None:
    alliance = Site.objects.create(code="alliance", name="医联体", kind=SiteKind.ALLIANCE)
    general = Site.objects.create(code="general", name="总医院", kind=SiteKind.GENERAL, parent=alliance)
    county = Site.objects.create(code="county-a", name="东川县人民医院", kind=SiteKind.COUNTY, parent=alliance)
    cardiology = Department.objects.create(
        site=general, code="cardiology", name="心内科", specialty=Specialty.CARDIOLOGY
    )
    rng = random.Random(20261203)
    patients = []
    for n in range(rooms_count):
        person = person_generate(rng, region="411321", city="示范市", district="东川县")
        resource = person_to_fhir(person, mrn_system="urn:alliance:site:county-a:mrn", mrn=f"A{n:06d}")
        patients.append(fhir.resource_create(resource=resource, actor=INTERNAL_ACTOR, owner=county.code).resource)
    patients_index(site=county.code, patients=patients)
    out = []
    with notifications_muted():
        for n, patient in enumerate(patients):
            doctor = user_create(
                username=f"county{n}", password=None, role=Role.COUNTY_DOCTOR, site=county, display_name=f"县医生{n}"
            )
            owner = user_create(
                username=f"cardio{n}",
                password=None,
                role=Role.SPECIALIST,
                site=general,
                department=cardiology,
                display_name=f"心内科{n}",
            )
            experts = [
                user_create(
                    username=f"expert{n}_{k}",
                    password=None,
                    role=Role.SPECIALIST,
                    site=general,
                    department=cardiology,
                    display_name=f"专家{n}-{k}",
                )
                for k in range(participants - 2)
            ]
            referral = referrals.referral_create(
                requester=doctor,
                kind="consultation",
                urgency="urgent",
                pathway="chest_pain",
                patient_ref=f"Patient/{patient['id']}",
                clinical_question="胸痛待查",
                consent=referrals.ConsentGiven(),
                named_expert=owner,
            )
            referrals.task_accept(referral_id=referral.pk, actor=owner)  # opens the room
            room = referral.rooms.get()
            if experts:
                rooms.participant_invite(room_id=room.pk, actor=owner, invitees=experts)
            people = [doctor, owner, *experts]
            out.append({"room": room.pk, "tokens": [api_token_create(user=p)[1] for p in people]})
    print(json.dumps({"rooms": out}))
