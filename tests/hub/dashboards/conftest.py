"""The alliance's requests over a quarter, as the dashboard counts them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client

from federation.sites.constants import Specialty
from hub.accounts.constants import Role
from hub.referrals import services
from tests.factories import DepartmentFactory, UserFactory, patient_resource
from tests.hub.referrals.conftest import (  # noqa: F401  (fixtures of the referral story)
    api_for,
    patient_at_county_a,
    patient_at_county_b,
    store,
)

# A Thursday in the fourth quarter of 2026 (Asia/Shanghai).
T0 = datetime.fromisoformat("2026-11-19T09:00:00+08:00")
QUARTER = "2026-Q4"


def refer(doctor, patient_ref: str, *, at: datetime, nodes: dict[str, int] | None = None, **fields):
    """A request made at ``at`` with its time nodes as minutes after ``at`` (negative: before)."""
    defaults = {
        "kind": "consultation",
        "urgency": "urgent",
        "pathway": "chest_pain",
        "clinical_question": "胸痛待查",
        "consent": services.ConsentGiven(),
    }
    times = {node: at + timedelta(minutes=m) for node, m in (nodes or {}).items()}
    creating = {n: t for n, t in times.items() if t <= at}
    referral = services.referral_create(
        requester=doctor, patient_ref=patient_ref, now=at, time_nodes=creating, **{**defaults, **fields}
    )
    later = {n: t for n, t in times.items() if t > at}
    if later:
        services.time_nodes_record(referral=referral, nodes=later, actor=doctor, now=max(later.values()))
    return referral


@pytest.fixture
def page(db):
    def make(user, language: str = "en") -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def hub_admin(alliance):
    return UserFactory(username="hub_admin", role=Role.SITE_ADMIN, site=alliance, is_superuser=True, is_staff=True)


@pytest.fixture
def emergency_department_a(county_a):
    return DepartmentFactory(
        site=county_a, code="emergency", name="急诊科", name_en="Emergency", specialty=Specialty.EMERGENCY
    )


@pytest.fixture
def test_patient_at_county_a(county_a):
    """A patient labelled as test data (meta.security HTEST)."""
    resource = patient_resource(7)
    resource["meta"] = {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST"}]}
    return store(resource, owner="county-a")
