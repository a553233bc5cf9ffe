"""factory_boy factories for sites, departments, users and patients (fixed seed)."""

from __future__ import annotations

import random

import factory
import factory.random

from federation.sites.constants import SiteKind, Specialty
from federation.sites.models import Department, Site
from hub.accounts.constants import Role
from hub.accounts.models import User
from hub.demo.people import person_generate, person_to_fhir

factory.random.reseed_random(20261126)


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"site-{n}")
    name = factory.Sequence(lambda n: f"测试医院{n}")
    name_en = factory.Sequence(lambda n: f"Test hospital {n}")
    kind = SiteKind.COUNTY
    parent = factory.LazyFunction(
        lambda: Site.objects.get_or_create(code="alliance", defaults={"name": "医联体", "kind": SiteKind.ALLIANCE})[0]
    )


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("site", "code")

    site = factory.SubFactory(SiteFactory, kind=SiteKind.GENERAL)
    code = "cardiology"
    name = "心血管内科"
    specialty = Specialty.CARDIOLOGY


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    role = Role.COUNTY_DOCTOR
    site = factory.SubFactory(SiteFactory)
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


def patient_resource(seed: int = 1, *, region: str = "411321", mrn_system: str = "urn:site:county-a:mrn") -> dict:
    person = person_generate(random.Random(seed), region=region, city="示范市", district="东川县")
    return person_to_fhir(person, mrn_system=mrn_system, mrn=f"MRN{seed:06d}")


# The signing PIN the tests give their signers (every signature needs one: hub.accounts.pins).
SIGNING_PIN = "480731"


def with_signing_pin(user, pin: str = SIGNING_PIN) -> str:
    """Set ``user``'s signing PIN (as on their profile page) and return it."""
    from hub.accounts.pins import signing_pin_set

    signing_pin_set(user=user, pin=pin)
    return pin
