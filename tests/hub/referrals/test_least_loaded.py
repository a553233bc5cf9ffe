"""Load balancing: the active team member with the fewest open cases, the longest-standing account on a tie."""

from __future__ import annotations

from datetime import datetime

import pytest

from hub.accounts.constants import Role
from hub.referrals import services
from hub.referrals.routing import least_loaded
from tests.factories import UserFactory

NOW = datetime.fromisoformat("2026-11-26T10:00:00+08:00")

pytestmark = pytest.mark.django_db


@pytest.fixture
def cardiologist_wu_on_leave(general_hospital, cardiology):
    """The oldest account of the department, but inactive: never picked."""
    return UserFactory(
        username="cardiologist_wu", role=Role.SPECIALIST, site=general_hospital, department=cardiology, is_active=False
    )


@pytest.fixture
def cardiologist_liu(general_hospital, cardiology):
    return UserFactory(username="cardiologist_liu", role=Role.SPECIALIST, site=general_hospital, department=cardiology)


def refer(doctor, patient):
    return services.referral_create(
        requester=doctor,
        kind="consultation",
        urgency="urgent",
        pathway="chest_pain",
        patient_ref=f"Patient/{patient['id']}",
        clinical_question="胸痛待查",
        consent=services.ConsentGiven(),
        now=NOW,
    )


def test_open_cases_of_active_team_members_decide_and_ties_go_to_the_oldest_account(
    cardiologist_wu_on_leave,
    cardiologist_zhang,
    cardiologist_liu,
    neurologist_zhou,
    dr_li_at_county_a,
    patient_at_county_a,
):
    first = refer(dr_li_at_county_a, patient_at_county_a)
    assert first.owner == cardiologist_zhang  # 0 open cases each: the older account
    second = refer(dr_li_at_county_a, patient_at_county_a)
    assert second.owner == cardiologist_liu  # zhang has 1 open case now
    third = refer(dr_li_at_county_a, patient_at_county_a)
    assert third.owner == cardiologist_zhang  # 1 each again

    # A closed case no longer counts: liu has 0 open cases, zhang 2.
    services.referral_cancel(referral_id=second.pk, actor=dr_li_at_county_a, reason="患者转院", now=NOW)
    person, load = least_loaded(referral=third, department=third.target_department, exclude=set())
    assert (person, load) == (cardiologist_liu, 0)

    # The people a request was already declined by are left out; nobody left is None.
    person, load = least_loaded(referral=third, department=third.target_department, exclude={cardiologist_liu.pk})
    assert (person, load) == (cardiologist_zhang, 2)
    excluded = {cardiologist_liu.pk, cardiologist_zhang.pk}
    assert least_loaded(referral=third, department=third.target_department, exclude=excluded) is None
